"""The matching review queue in real Chromium, driven by the keyboard: an account
manager moves between pairs with j and k, merges one with a and rejects the next with r;
each decision brings the next pair in without a page load, and the waterfall is drawn."""

import pytest

from cdp_site import services as site_services
from cdp_site.permissions import ACCOUNT_MANAGER
from profiles.models import MatchCandidate, Profile
from tests.conftest import PASSWORD
from tests.matching.conftest import (  # noqa: F401 (fixtures shared)
    JOHN,
    match_model,
    queued_pair,
    trained,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_account_manager_works_the_review_queue_with_the_keyboard(
    page,
    log_in,
    live_server,
    queued_pair,  # noqa: F811
    off_site,
):
    queued_pair(right=dict(JOHN, address={"city": "Utrecht"}))
    queued_pair()
    queued_pair(right=dict(JOHN, phone="+31 6 1234 5678"))
    strongest, second, weakest = MatchCandidate.objects.order_by("-probability", "id")
    site_services.create_user(email="amy@example.org", role=ACCOUNT_MANAGER, password=PASSWORD)
    log_in("amy@example.org", PASSWORD)
    page.goto(f"{live_server.url}/profiles/")
    page.get_by_role("link", name="Match review queue").click()

    heading = page.locator("#pair-title")
    heading.get_by_text("Pair 1 of 3").wait_for()
    page.wait_for_load_state("load")  # the shortcuts' script runs after plotly's
    page.locator("[data-chart='review-chart'] .main-svg").first.wait_for()
    page.evaluate("() => { window.stillThisPage = true; }")  # gone after a page load

    page.keyboard.press("j")
    heading.get_by_text("Pair 2 of 3").wait_for()
    page.keyboard.press("k")
    heading.get_by_text("Pair 1 of 3").wait_for()

    page.keyboard.press("a")
    page.get_by_text("Merged.").wait_for()
    heading.get_by_text("Pair 1 of 2").wait_for()
    assert Profile.objects.get(pk=strongest.high_id).merged_into_id == strongest.low_id

    page.keyboard.press("r")
    page.get_by_text("never suggested again").wait_for()
    heading.get_by_text("Pair 1 of 1").wait_for()
    assert MatchCandidate.objects.get(pk=second.pk).status == MatchCandidate.Status.REJECTED
    assert MatchCandidate.objects.get(pk=weakest.pk).status == MatchCandidate.Status.PENDING
    assert page.evaluate("() => window.stillThisPage === true")  # every step an htmx swap
    assert off_site() == []
