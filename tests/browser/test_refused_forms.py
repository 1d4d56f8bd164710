"""A form refused by the server (400 with its errors) is swapped in on every page, not only
where a page asked for it: base.html tells htmx to swap 400 and 422 like a 200."""

import pytest

from cdp_site.permissions import ADMIN
from profiles import defaults
from profiles.models import IdentifierKind
from tests.browser.conftest import log_in_page
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_refused_identifier_kind_shows_its_error_beside_the_field(page, live_server, make_user):
    defaults.ensure_installed()  # the built-in kinds (a flushed test database has none)
    log_in_page(page, live_server.url, make_user(ADMIN).email, PASSWORD)
    page.goto(live_server.url + "/profiles/rules/")
    before = IdentifierKind.objects.count()
    form = page.locator("#kind-add")
    form.get_by_label("Name", exact=True).fill("user_id")  # taken: a built-in kind
    form.get_by_label("Label", exact=True).fill("Another user id")
    form.get_by_label("Trait keys").fill("otherUserId")
    form.get_by_role("button", name="Add kind").click()

    page.get_by_text("An identifier kind with this name exists already.").wait_for()
    assert IdentifierKind.objects.count() == before
