"""A privacy request in real Chromium: an account manager records an erasure from the
profiles list, confirms it, and watches the status part turn to completed while the
worker (tasks run eagerly here) erases the person."""

import pytest

from cdp_site import services as site_services
from cdp_site.celery import app
from cdp_site.permissions import ACCOUNT_MANAGER
from integrations import services
from integrations.models import Source
from profiles.models import Identity
from tests.conftest import PASSWORD
from tests.profiles.conftest import drain, message
from tests.support.signing import signed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer(transactional_db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    web = services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    identify = message("identify", userId="w-eve", traits={"email": "eve@example.org"})
    services.ingest_messages(source_id=web.id, messages=signed(web, identify))
    drain()


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_an_account_manager_erases_a_person_from_the_privacy_pages(
    page, log_in, live_server, customer, eager
):
    site_services.create_user(email="amy@example.org", role=ACCOUNT_MANAGER, password=PASSWORD)
    log_in("amy@example.org", PASSWORD)
    page.goto(f"{live_server.url}/profiles/")
    page.get_by_role("link", name="Privacy requests").click()
    page.get_by_role("link", name="New request").click()

    page.get_by_label("The person asks for").select_option("erasure")
    page.get_by_label("Known by").select_option("email")
    page.get_by_label("Identifier", exact=True).fill(" Eve@Example.org ")
    page.get_by_label("Identity verified by").select_option("email")
    page.get_by_role("button", name="Record the request").click()

    page.get_by_role("heading", name="Erasure request", level=1).wait_for()
    page.get_by_text("30 days left").wait_for()
    confirm = page.get_by_label("I confirm")
    page.get_by_role("button", name="Erase").click()  # not confirmed: the form is not sent
    assert confirm.evaluate("box => box.validity.valueMissing")
    assert Identity.objects.filter(value="eve@example.org").exists()

    confirm.check()
    page.get_by_role("button", name="Erase").click()
    page.get_by_role("heading", name="Status: Completed").wait_for()
    page.get_by_text("cleared on completion").wait_for()
    assert not Identity.objects.filter(value__in=["eve@example.org", "w-eve"]).exists()
