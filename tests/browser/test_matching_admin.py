"""The matching admin pages in real Chromium: the model's weights chart, a pair explained
as a waterfall in place, a dry run started from the passes page, and a running pass's
progress bar that the page keeps current by itself until the pass is done."""

import pytest

from cdp_site import services as site_services
from cdp_site.permissions import ADMIN
from profiles.matching import services
from profiles.models import MatchRun, Profile
from tests.conftest import PASSWORD
from tests.matching.conftest import (  # noqa: F401 (fixtures shared)
    JOHN,
    JON,
    eager,
    match_model,
    trained,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin(log_in):
    site_services.create_user(email="ada@example.org", role=ADMIN, password=PASSWORD)
    log_in("ada@example.org", PASSWORD)


@pytest.mark.usefixtures("admin", "match_model")
def test_an_admin_sees_the_weights_and_explains_a_pair_as_a_waterfall(page, live_server, off_site):
    jon, john = Profile.objects.create(traits=JON), Profile.objects.create(traits=JOHN)
    page.goto(f"{live_server.url}/profiles/matching/model/")
    page.locator("[data-chart='weights-chart'] .main-svg").first.wait_for()
    page.evaluate("() => { window.stillThisPage = true; }")

    page.get_by_label("Profile", exact=True).fill(str(jon.pk))
    page.get_by_label("and profile").fill(str(john.pk))
    page.get_by_role("button", name="Explain").click()

    page.locator("[data-chart='explain-chart'] .main-svg").first.wait_for()
    assert page.evaluate("() => window.stillThisPage === true")  # swapped in, no page load
    assert off_site() == []


@pytest.mark.usefixtures("admin", "match_model")
def test_a_running_pass_shows_its_bar_and_the_page_follows_it_to_done(page, live_server, off_site):
    running = services.start_run(kind=MatchRun.Kind.FULL)
    MatchRun.objects.filter(pk=running.pk).update(phase="merging", done=30, total=120)
    page.goto(f"{live_server.url}/profiles/matching/runs/{running.pk}/")

    bar = page.get_by_role("progressbar", name="Merges made")
    bar.wait_for()
    assert bar.get_attribute("value") == "30" and bar.get_attribute("max") == "120"
    page.get_by_text("Merging: 30 of 120 merges").wait_for()

    MatchRun.objects.filter(pk=running.pk).update(done=90)
    page.get_by_text("Merging: 90 of 120 merges").wait_for()  # polled every 2 s
    MatchRun.objects.filter(pk=running.pk).update(status=MatchRun.Status.DONE, merged=118)
    page.get_by_text("Status: Done").wait_for()
    assert page.get_by_role("progressbar").count() == 0
    assert off_site() == []


@pytest.mark.usefixtures("admin", "match_model", "eager")
def test_a_dry_run_from_the_passes_page_reports_without_merging(page, live_server, off_site):
    Profile.objects.create(traits=JON)
    Profile.objects.create(traits=JOHN)
    page.goto(f"{live_server.url}/profiles/matching/runs/")

    page.get_by_role("button", name="Start a dry run").click()

    page.get_by_role("heading", name="Dry run #").wait_for()
    page.get_by_text("Status: Done").wait_for()
    page.get_by_text("Would merge").wait_for()
    assert Profile.objects.filter(merged_into__isnull=False).count() == 0
    assert off_site() == []
