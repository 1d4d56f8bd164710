"""The retention page in Chromium: it passes axe with its preview loaded, a rule is edited
in place, and a refused rule shows its errors beside its fields (a 400 is swapped in)."""

import pytest

from cdp_site.permissions import ADMIN
from integrations import services as integrations
from integrations.models import Source
from profiles.models import RetentionPolicy
from profiles.retention import services
from tests.browser.conftest import log_in_page
from tests.browser.test_accessibility_crawl import AXE, AXE_RUN, AXE_URL, SETTLED
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_retention_page_edits_in_place_and_shows_refusals(page, live_server, make_user):
    web = integrations.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    rule = services.create_policy(source=web, event_name="Page Viewed", keep_months=3)
    services.run()
    log_in_page(page, live_server.url, make_user(ADMIN).email, PASSWORD)
    page.route(live_server.url + AXE_URL, lambda route: route.fulfill(path=AXE))
    page.goto(live_server.url + "/profiles/retention/")
    page.wait_for_function(SETTLED)
    page.get_by_text("Rejected messages").wait_for()  # the preview, loaded after the page
    page.add_script_tag(url=live_server.url + AXE_URL)
    assert page.evaluate(AXE_RUN) == []

    page.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Save rule").wait_for()
    page.locator("#id_edit-keep_months").fill("6")
    page.get_by_role("button", name="Save rule").click()
    page.get_by_text("6 months").wait_for()
    rule.refresh_from_db()
    assert rule.keep_months == 6

    page.get_by_label("Keep (months)").fill("0")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_text("Ensure this value is greater than or equal to 1.").wait_for()
    page.get_by_text("Name an event or a source").wait_for()
    assert RetentionPolicy.objects.count() == 1
