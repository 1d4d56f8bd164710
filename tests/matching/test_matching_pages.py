"""The matching pages: admins see and change the settings, the model and the passes;
account managers and admins work the review queue; others are refused. Errors show at
their field, a pass while one runs is an error on the page, and the queue moves on after
each decision."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from demo import lookalikes
from profiles import tasks
from profiles.matching import jobs, services
from profiles.matching.forms import SettingsForm
from profiles.models import MatchCandidate, MatchModel, MatchRun, MatchSettings, Profile

from .conftest import JOHN, JON

pytestmark = pytest.mark.django_db
ADMIN_PAGES = ["/profiles/matching/", "/profiles/matching/model/", "/profiles/matching/runs/"]
REVIEW_PAGE = "/profiles/matching/review/"


@pytest.mark.parametrize(
    ("role", "admin_pages", "review_page"),
    [(ADMIN, 200, 200), (ACCOUNT_MANAGER, 403, 200), (MARKETER, 403, 403), (VIEWER, 403, 403)],
)
def test_matching_pages_are_for_admins_and_the_review_queue_for_account_managers_too(
    client_as, role, admin_pages, review_page
):
    client = client_as(role)
    assert [client.get(url).status_code for url in ADMIN_PAGES] == [admin_pages] * 3
    assert client.get(REVIEW_PAGE).status_code == review_page
    listed = client.get("/profiles/").content.decode()
    assert ("/profiles/matching/review/" in listed) == (review_page == 200)


def _settings_post(**changes):
    form = {
        "comparisons": "",
        "blocking": "",
        "vetoes": "first_name, birth_date",
        "review_threshold": "0.9",
        "auto_merge_threshold": "0.998",
        "phone_region": "NL",
        "memory_limit": "2GB",
        "max_block": "1000",
        "map_first_name": "given_name, firstName",
        "map_surname": "surname",
    }
    return {**form, **changes}


def _error_at(html: str, field: str) -> str:
    found = re.search(rf'id="id_{field}_error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else ""


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"comparisons": '[{"field": "surname", "method": "soundex"}]'}, "comparisons", "method"),
        ({"comparisons": "[{oops"}, "comparisons", "Not valid JSON"),
        ({"blocking": '[["shoe_size"]]'}, "blocking", "compared fields"),
        ({"map_city": "address..city"}, "map_city", "not a trait name"),
        ({"review_threshold": "0.999"}, "review_threshold", "auto-merge"),
        ({"phone_region": "Netherlands"}, "phone_region", "two-letter"),
        ({"memory_limit": "lots"}, "memory_limit", "4GB"),
        ({"vetoes": "shoe"}, "vetoes", "compares"),
    ],
)
def test_settings_that_cannot_work_are_shown_at_their_field(client_as, changes, field, says):
    response = client_as(ADMIN).post("/profiles/matching/", _settings_post(**changes))
    assert response.status_code == 400
    assert says in _error_at(response.content.decode(), field)


def test_saved_settings_feed_the_matcher_and_a_model_on_other_fields_is_called_stale(
    client_as, match_model
):
    client = client_as(ADMIN)
    assert "is stale" not in client.get("/profiles/matching/").content.decode()
    response = client.post("/profiles/matching/", _settings_post(enabled="on"))
    assert response.status_code == 302
    saved = MatchSettings.load()
    assert saved.enabled and saved.phone_region == "NL"
    assert saved.mapping["first_name"] == ["given_name", "firstName"]
    assert "city" not in saved.mapping  # an empty row: the field is left out
    page = client.get("/profiles/matching/model/").content.decode()
    assert f"Model v{match_model.pk} is stale" in page


def test_saving_the_settings_page_as_shown_keeps_the_model_fitting(client_as, match_model):
    shown = SettingsForm.for_settings(MatchSettings.load())
    posted = {}
    for field in shown:
        value = field.field.prepare_value(field.value())
        if isinstance(value, bool):
            value = "on" if value else None
        if value is not None:
            posted[field.name] = value
    assert client_as(ADMIN).post("/profiles/matching/", posted).status_code == 302
    assert not jobs.model_is_stale()
    assert services.start_run(kind=MatchRun.Kind.DRY_RUN).model_id == match_model.pk


def test_the_model_page_charts_each_levels_weight_and_lists_the_versions(client_as, match_model):
    page = client_as(ADMIN).get("/profiles/matching/model/").content.decode()
    assert f"v{match_model.pk}" in page and 'id="weights-chart"' in page
    assert '"type": "bar"' in page and "exact match" in page.lower()


def test_explaining_two_profiles_draws_a_waterfall_ending_at_their_match_weight(
    client_as, match_model
):
    jon, john = Profile.objects.create(traits=JON), Profile.objects.create(traits=JOHN)
    nobody = Profile.objects.create(traits={"shoe": 42})
    client = client_as(ADMIN)
    url = "/profiles/matching/model/explain/"

    shown = client.get(url, {"left": jon.pk, "right": john.pk}, HTTP_HX_REQUEST="true")
    assert shown.status_code == 200
    html = shown.content.decode()
    assert '"type": "waterfall"' in html and "Match probability" in html
    assert "birth_date" in html and "Prior" in html

    refused = client.get(url, {"left": jon.pk, "right": nobody.pk}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "nothing the matcher can compare" in _error_at(refused.content.decode(), "right")


def test_train_now_trains_in_the_background_and_says_how_it_went(
    client_as, eager, django_capture_on_commit_callbacks
):
    client = client_as(ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/profiles/matching/model/train/", HTTP_HX_REQUEST="true")
    status = client.get("/profiles/matching/model/training/").content.decode()
    # No profiles to learn from: the reason is said, and no model is stored.
    assert "Training failed" in status and "profiles" in status
    assert not MatchModel.objects.exists()


def test_a_training_lost_past_its_time_limit_does_not_block_the_next(db):
    long_ago = timezone.now() - timedelta(hours=2)
    cache.set(jobs.TRAINING_KEY, {"state": "running", "at": long_ago.isoformat()})
    assert jobs.queue_training()["state"] == "queued"
    cache.set(jobs.TRAINING_KEY, {"state": "running", "at": timezone.now().isoformat()})
    assert jobs.queue_training()["state"] == "running"  # one at a time


@pytest.fixture
def population(db):
    crowd = lookalikes.records(lookalikes.people(60, seed=5), seed=6, per_person=(1,))
    Profile.objects.bulk_create([Profile(traits=traits) for _, traits in crowd])
    jon = Profile.objects.create(traits=JON, display_name="Jon Vanderlinde")
    john = Profile.objects.create(traits=JOHN, display_name="John Vanderlinde")
    return jon, john


def test_a_dry_run_started_from_the_page_shows_its_counts_and_samples_and_merges_nothing(
    client_as, match_model, population, eager, django_capture_on_commit_callbacks
):
    jon, john = population
    client = client_as(ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/profiles/matching/runs/", {"kind": "dry_run"})
    assert started.status_code == 302
    run = MatchRun.objects.get()
    assert started.url == f"/profiles/matching/runs/{run.pk}/"
    assert run.status == MatchRun.Status.DONE, run.error

    page = client.get(started.url).content.decode()
    assert "Status: Done" in page and "Would merge" in page
    assert f'href="/profiles/{jon.pk}/">Jon Vanderlinde</a>' in page
    assert f'href="/profiles/{john.pk}/">John Vanderlinde</a>' in page
    assert Profile.objects.filter(merged_into__isnull=False).count() == 0
    assert "Dry run #" in client.get("/profiles/matching/runs/").content.decode()


def test_a_second_pass_while_one_runs_is_an_error_on_the_page(client_as, match_model):
    running = services.start_run(kind=MatchRun.Kind.FULL)
    client = client_as(ADMIN)
    response = client.post("/profiles/matching/runs/", {"kind": "full"})
    assert response.status_code == 400
    assert "a pass is running" in response.content.decode()
    polled = client.get(f"/profiles/matching/runs/{running.pk}/", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in polled.content.decode()


def test_the_review_queue_shows_the_strongest_pair_side_by_side_with_why(client_as, queued_pair):
    weaker = queued_pair(right=dict(JOHN, address={"city": "Utrecht"}))
    stronger = queued_pair()
    assert stronger.probability > weaker.probability
    page = client_as(ACCOUNT_MANAGER).get(REVIEW_PAGE).content.decode()
    assert "Pair 1 of 2" in page
    assert f"{stronger.probability:.4f}" in page
    assert f"profile {stronger.low_id}" in page and f"profile {stronger.high_id}" in page
    assert "two different unique identifiers" in page
    assert '"type": "waterfall"' in page and "Vanderlinde" in page
    assert 'data-shortcut="a"' in page and 'data-shortcut="j"' in page


def test_accept_merges_reject_remembers_and_the_next_pair_comes_as_a_partial(
    client_as, queued_pair
):
    first, second = queued_pair(), queued_pair()
    client = client_as(ACCOUNT_MANAGER)
    ordered = list(MatchCandidate.objects.filter(status="pending"))

    accepted = client.post(
        f"/profiles/matching/review/{ordered[0].pk}/accept/", {"pos": 0}, HTTP_HX_REQUEST="true"
    )
    html = accepted.content.decode()
    assert "Merged." in html and "<h1>" not in html  # the partial alone
    assert f"/review/{ordered[1].pk}/reject/" in html
    assert Profile.objects.get(pk=ordered[0].high_id).merged_into_id == ordered[0].low_id

    rejected = client.post(
        f"/profiles/matching/review/{ordered[1].pk}/reject/", {"pos": 0}, HTTP_HX_REQUEST="true"
    )
    assert "Nothing to review" in rejected.content.decode()
    assert MatchCandidate.objects.get(pk=ordered[1].pk).status == MatchCandidate.Status.REJECTED
    assert {first.pk, second.pk} == {c.pk for c in ordered}


def test_accepting_a_pair_whose_profile_is_gone_says_so_and_moves_on(client_as, queued_pair):
    gone = queued_pair()
    Profile.objects.filter(pk=gone.high_id).delete()
    client = client_as(ACCOUNT_MANAGER)
    response = client.post(
        f"/profiles/matching/review/{gone.pk}/accept/", {"pos": 0}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "gone or merged" in response.content.decode()
    assert MatchCandidate.objects.get(pk=gone.pk).status == MatchCandidate.Status.STALE
    assert "Nothing to review" in response.content.decode()


def test_beat_passes_skip_quietly_while_matching_is_off_and_run_when_it_is_on(match_model):
    Profile.objects.create(traits=JON)
    Profile.objects.create(traits=JOHN)
    assert tasks.scheduled_match_pass("incremental") is None
    assert not MatchRun.objects.exists()
    services.update_settings(enabled=True)
    ran = MatchRun.objects.get(pk=tasks.scheduled_match_pass("full"))
    assert ran.status == MatchRun.Status.DONE and ran.profiles == 2, ran.error
    MatchModel.objects.all().delete()
    assert jobs.scheduled_pass("full") is None  # no model: nothing to run with
    assert MatchRun.objects.count() == 1


def test_the_review_queue_masks_personal_data_for_a_role_without_the_grant(client_as, queued_pair):
    from profiles.rules.services import set_personal_data_roles

    queued_pair()
    client = client_as(ACCOUNT_MANAGER)
    granted = client.get(REVIEW_PAGE).content.decode()
    set_personal_data_roles(roles=[])
    masked = client.get(REVIEW_PAGE).content.decode()

    # The e-mail and phone kinds are personal: their traits are masked without the grant.
    assert "jon.vanderlinde@example.com" in granted and "+31 6 1234 5678" in granted
    assert "jon.vanderlinde@example.com" not in masked and "+31 6 1234 5678" not in masked
    assert "j•••@example.com" in masked


def test_a_running_pass_shows_its_phase_and_a_bar_of_merges_made(client_as, match_model):
    running = services.start_run(kind=MatchRun.Kind.FULL)
    MatchRun.objects.filter(pk=running.pk).update(phase="merging", done=40, total=100)
    client = client_as(ADMIN)

    polled = client.get(f"/profiles/matching/runs/{running.pk}/", HTTP_HX_REQUEST="true")

    html = polled.content.decode()
    assert "Merging: 40 of 100 merges" in html
    assert '<progress max="100" value="40"' in html
    MatchRun.objects.filter(pk=running.pk).update(phase="scoring", done=0, total=5000)
    scoring = client.get(f"/profiles/matching/runs/{running.pk}/", HTTP_HX_REQUEST="true")
    assert "Scoring pairs" in scoring.content.decode()
    assert '<progress aria-label="Scoring pairs">' in scoring.content.decode()
