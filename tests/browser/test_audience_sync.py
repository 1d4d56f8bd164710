"""A marketer watches an audience sync in real Chromium: the status page shows what was
sent to the (imitation) Meta audience; "Resync everything" queues every member again
(htmx swaps the status in place) and the page, polling, shows the members sent again."""

import pytest
from playwright.sync_api import expect

from campaigns.audiences import services, sync
from cdp_site import services as site_services
from segments import services as segments
from segments.services import process_profile_changes
from tests.campaigns.conftest import person
from tests.conftest import PASSWORD
from tests.profiles.conftest import send, web  # noqa: F401 (fixtures)
from tests.support import ad_platforms

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AUDIENCE = ad_platforms.META_AUDIENCE


@pytest.fixture
def synced(transactional_db, send, web, meta_api):  # noqa: F811
    gold = segments.create_segment(name="Gold", rule=ad_platforms.GOLD_RULE)
    for user in ("ann", "bob"):
        person(send, web, user, tier="gold", adsOptIn=True)
    process_profile_changes()
    meta = ad_platforms.meta_destination(meta_api)
    made = services.create_sync(
        name="Gold to Meta", segment=gold, destination=meta, audience_id=AUDIENCE
    )
    sync.run_due()
    site_services.create_user(email="mia@example.org", role="Marketer", password=PASSWORD)
    return made


def test_the_status_page_shows_the_counts_and_resyncs_everything(
    page, log_in, live_server, synced, meta_api
):
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/campaigns/audiences/")
    page.get_by_role("link", name="Gold to Meta").click()
    status = page.locator("#sync-status")
    expect(status.locator('[data-count="members"]')).to_have_text("2")
    expect(status.locator('[data-count="added"]')).to_have_text("2")

    meta_api.state["audiences"][AUDIENCE].clear()  # emptied in Ads Manager
    page.get_by_role("button", name="Resync everything").click()
    expect(status.get_by_role("status")).to_contain_text("2 people are checked and sent again")
    expect(status.locator('[data-count="full"]')).to_have_text("in progress")

    sync.run_due()  # what the beat task does within seconds
    # The status refreshes itself (htmx, every 5 s): the members were sent again.
    expect(status.locator('[data-count="added"]')).to_have_text("4", timeout=15_000)
    expect(status.locator('[data-count="full"]')).to_have_text("none running")
    assert len(meta_api.state["audiences"][AUDIENCE]) == 2
