"""PII controls in real Chromium: a marketer searches a customer by e-mail and sees them
masked, on the list and the Customer 360 page, until an admin grants marketers to see
personal data."""

import pytest

from cdp_site import services as site_services
from cdp_site.permissions import ACCOUNT_MANAGER, MARKETER
from integrations import services
from integrations.models import Source
from profiles.rules import services as rules_services
from tests.conftest import PASSWORD
from tests.profiles.conftest import drain, message
from tests.support.signing import signed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer(transactional_db):
    web = services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    traits = {"email": "ann@example.org", "phone": "+31612345612", "firstName": "Ann"}
    identify = message("identify", userId="w-ann", traits={**traits, "plan": "gold"})
    assert services.ingest_messages(source_id=web.id, messages=signed(web, identify)).stored == 1
    drain()


def test_a_marketer_sees_a_customer_masked_until_marketers_are_granted(
    page, log_in, live_server, customer
):
    site_services.create_user(email="mo@example.org", role=MARKETER, password=PASSWORD)
    log_in("mo@example.org", PASSWORD)
    page.goto(f"{live_server.url}/profiles/")
    page.get_by_role("searchbox", name="Search").press_sequentially("ann@example.org", delay=20)
    results = page.locator("#results")
    results.get_by_text("a•••@example.org").wait_for()
    results.get_by_role("link", name="A•••").click()

    page.get_by_role("heading", name="A•••", level=1).wait_for()
    identifiers = page.locator("section[aria-labelledby=identifiers-title]")
    assert "a•••@example.org" in identifiers.inner_text()
    assert "+31 6 •••• 12" in identifiers.inner_text()
    assert "ann@example.org" not in page.content()
    assert page.locator("#traits").get_by_text("gold", exact=True).count() == 1

    rules_services.set_personal_data_roles(roles=[ACCOUNT_MANAGER, MARKETER])
    page.reload()
    page.get_by_role("heading", name="Ann", level=1).wait_for()
    assert "ann@example.org" in identifiers.inner_text() and "•••" not in page.content()
