"""The matching API: admins read and change the settings, read the models (with each
level's weight), train, start passes (409 while one runs) and explain pairs; account
managers and admins work the review queue; others are refused; errors name the field."""

import os

import pytest

from cdp_site.celery import app as celery_app
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from profiles.matching import services
from profiles.models import MatchCandidate, MatchRun, MatchSettings, Profile
from tests.support.processes import start_celery_worker, stop_process, wait_until

from .conftest import JOHN, JON

pytestmark = pytest.mark.django_db
JSON = "application/json"
BASE = "/api/v1/matching"


@pytest.mark.parametrize(
    ("role", "admin", "review"),
    [(ADMIN, 200, 200), (ACCOUNT_MANAGER, 403, 200), (MARKETER, 403, 403), (VIEWER, 403, 403)],
)
def test_the_matching_api_is_for_admins_and_its_review_queue_for_account_managers_too(
    client_as, role, admin, review
):
    client = client_as(role)
    for path in ("settings", "models", "runs", "models/training"):
        assert client.get(f"{BASE}/{path}").status_code == admin, path
    assert client.post(f"{BASE}/runs", {"kind": "full"}, content_type=JSON).status_code in (
        {admin} if admin == 403 else {400}  # allowed, but no model yet
    )
    assert client.get(f"{BASE}/review-queue").status_code == review


def test_settings_are_read_and_patched_and_a_bad_one_is_a_400_at_its_field(client_as):
    client = client_as(ADMIN)
    read = client.get(f"{BASE}/settings").json()
    assert read["review_threshold"] == 0.9 and read["model_stale"] is False

    patched = client.patch(
        f"{BASE}/settings",
        {"mapping": {"first_name": ["given_name"]}, "phone_region": "nl", "enabled": True},
        content_type=JSON,
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["phone_region"] == "NL"
    assert MatchSettings.load().mapping == {"first_name": ["given_name"]}

    for body, field in [
        ({"comparisons": [{"field": "surname", "method": "soundex"}]}, "comparisons"),
        ({"comparisons": ["surname"]}, "comparisons"),
        ({"auto_merge_threshold": 0.8}, "review_threshold"),
        ({"mapping": {"shoe": ["size"]}}, "mapping"),
        ({"memory_limit": "lots"}, "memory"),
    ]:
        refused = client.patch(f"{BASE}/settings", body, content_type=JSON)
        assert refused.status_code == 400, body
        assert field in refused.json()["error"]["fields"], refused.json()


def test_a_model_lists_the_weight_of_each_comparison_level(client_as, match_model):
    client = client_as(ADMIN)
    listed = client.get(f"{BASE}/models").json()["results"]
    assert [m["id"] for m in listed] == [match_model.pk]
    detail = client.get(f"{BASE}/models/{match_model.pk}").json()
    weights = detail["weights"]
    names = {w["comparison"] for w in weights}
    assert {"first_name", "surname", "birth_date", "address"} <= names
    exact = next(w for w in weights if w["comparison"] == "birth_date")
    assert exact["weight"] > 5 and exact["m"] > exact["u"]
    assert detail["definition"]["blocking"]


def test_training_is_queued_with_a_way_to_follow_it(
    client_as, eager, django_capture_on_commit_callbacks
):
    client = client_as(ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(f"{BASE}/models")
    assert queued.status_code == 202
    assert queued.json()["state"] == "queued"
    assert queued["Location"] == f"{BASE}/models/training"
    followed = client.get(queued["Location"]).json()
    assert followed["state"] == "failed" and followed["field"] == "profiles"


def test_a_dry_run_is_started_and_followed_and_a_second_pass_is_a_409(
    client_as, match_model, eager, django_capture_on_commit_callbacks
):
    Profile.objects.create(traits=JON)
    Profile.objects.create(traits=JOHN)
    client = client_as(ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"{BASE}/runs", {"kind": "dry_run"}, content_type=JSON)
    assert started.status_code == 202, started.json()
    run = client.get(started["Location"]).json()
    assert run["status"] == "done" and run["kind"] == "dry_run" and run["profiles"] == 2

    services.start_run(kind=MatchRun.Kind.FULL)
    second = client.post(f"{BASE}/runs", {"kind": "incremental"}, content_type=JSON)
    assert second.status_code == 409
    assert "a pass is running" in second.json()["error"]["message"]
    bad = client.post(f"{BASE}/runs", {"kind": "sideways"}, content_type=JSON)
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["fields"]


def test_the_review_queue_lists_pairs_with_their_explanation_and_takes_decisions(
    client_as, queued_pair
):
    first, second = queued_pair(), queued_pair()
    client = client_as(ACCOUNT_MANAGER)
    listed = client.get(f"{BASE}/review-queue").json()["results"]
    assert {item["id"] for item in listed} == {first.pk, second.pk}
    item = listed[0]
    assert item["profiles"] == [item["profiles"][0], item["profiles"][0] + 1]
    assert item["held_by"] == ["unique_identifier"]
    steps = item["explanation"]["steps"]
    total = item["explanation"]["prior"] + sum(s["weight"] for s in steps)
    assert total == pytest.approx(item["weight"], abs=0.01)

    accepted = client.post(f"{BASE}/review-queue/{first.pk}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert Profile.objects.get(pk=first.high_id).merged_into_id == first.low_id
    rejected = client.post(f"{BASE}/review-queue/{second.pk}/reject")
    assert rejected.json()["status"] == "rejected"
    again = client.post(f"{BASE}/review-queue/{second.pk}/accept")
    assert again.status_code == 400 and "already decided" in str(again.json())
    assert client.get(f"{BASE}/review-queue").json()["results"] == []


def test_accepting_a_pair_whose_profile_is_gone_is_a_400_and_leaves_the_queue(
    client_as, queued_pair
):
    gone = queued_pair()
    Profile.objects.filter(pk=gone.low_id).delete()
    response = client_as(ADMIN).post(f"{BASE}/review-queue/{gone.pk}/accept")
    assert response.status_code == 400
    assert "candidate" in response.json()["error"]["fields"]
    assert MatchCandidate.objects.get(pk=gone.pk).status == MatchCandidate.Status.STALE


def test_explain_says_why_two_profiles_score_what_they_do(client_as, match_model):
    jon, john = Profile.objects.create(traits=JON), Profile.objects.create(traits=JOHN)
    bare = Profile.objects.create(traits={"firstName": "Ann"})
    client = client_as(ADMIN)
    explained = client.get(f"{BASE}/explain", {"left": jon.pk, "right": john.pk})
    assert explained.status_code == 200
    body = explained.json()
    assert {s["comparison"] for s in body["steps"]} >= {"first_name", "birth_date", "address"}
    assert body["prior"] + sum(s["weight"] for s in body["steps"]) == pytest.approx(
        body["weight"], abs=0.01
    )
    assert body["probability"] > 0.9

    nothing = client.get(f"{BASE}/explain", {"left": jon.pk, "right": bare.pk})
    assert nothing.status_code == 400
    assert "nothing the matcher can compare" in nothing.json()["error"]["fields"]["right"][0]
    missing = client.get(f"{BASE}/explain", {"left": jon.pk})
    assert missing.status_code == 400 and "right" in missing.json()["error"]["fields"]
    assert client_as(ACCOUNT_MANAGER).get(f"{BASE}/explain").status_code == 403


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_pass_an_api_client_started(client_as, match_model, settings):
    Profile.objects.create(traits=JON)
    Profile.objects.create(traits=JOHN)
    celery_app.control.purge()  # tasks other tests left queued
    worker = start_celery_worker(broker_url=settings.CELERY_BROKER_URL, name=f"match-{os.getpid()}")
    try:
        started = client_as(ADMIN).post(f"{BASE}/runs", {"kind": "full"}, content_type=JSON)
        assert started.status_code == 202

        def finished():
            return MatchRun.objects.get(pk=started.json()["id"]).status != "running"

        wait_until(finished, timeout=90, what="the worker to run the pass")
    finally:
        stop_process(worker)
    run = MatchRun.objects.get(pk=started.json()["id"])
    assert run.status == MatchRun.Status.DONE, run.error
    # Jon of the CRM and John of the shop: scored, and merged or queued for review.
    assert run.profiles == 2 and run.pairs == 1
    assert run.merged + run.queued == 1
