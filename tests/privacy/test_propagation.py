# ruff: noqa: F811 (pytest fixtures imported from other conftests, used as arguments)
"""An erasure reaches every destination that received the person: local servers
imitating an e-mail platform's list, an ad audience and a webhook receiver get the
permanent delete, the hashed remove and the signed "delete" webhook; a destination that
fails is retried with backoff, one that always fails or times out ends as a dead letter
with its error on the request's page; a person marking it handled completes the
request; a person never sent anything completes at once."""

import hashlib
import hmac
import json
import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from campaigns.models import Delivery
from cdp_site import crypto
from cdp_site.celery import app as celery_app
from cdp_site.models import AuditEntry
from integrations.destinations import services as destinations
from profiles import tasks
from profiles.models import PrivacyRequest, PropagationJob
from profiles.privacy import propagation, services
from segments import export, membership
from segments import services as segment_services
from tests.campaigns.conftest import campaign, person, pump, track
from tests.integrations.test_destinations_adapters import recording_server
from tests.privacy.test_privacy_requests import _var, manager  # noqa: F401
from tests.profiles.conftest import message, send, web  # noqa: F401
from tests.support.processes import start_celery_worker, stop_process, wait_until
from tests.support.segment_rules import rule

pytestmark = pytest.mark.django_db

EMAIL, PHONE = "pia@example.org", "+14155550123"
SECRET = "whsec-propagation-0123456789"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def servers():
    """Three local servers: the list, the audience, the webhook receiver."""
    with recording_server() as esp, recording_server() as audience, recording_server() as hook:
        esp.status = 204
        yield {"esp": esp, "audience": audience, "hook": hook}


def _destinations(servers) -> dict:
    return {
        "esp": destinations.create_destination(
            name="Newsletter list",
            kind="esp_list",
            config={"base_url": servers["esp"].url + "/3.0", "list_id": "L1", "timeout": 2},
            secrets={"api_key": "key-us1"},
        ),
        "audience": destinations.create_destination(
            name="Google audience",
            kind="google_customer_match",
            config={"endpoint": servers["audience"].url + "/audience", "timeout": 2},
            secrets={"access_token": "tok-123"},
        ),
        "hook": destinations.create_destination(
            name="Loyalty webhook",
            kind="webhook",
            config={"url": servers["hook"].url + "/in", "timeout": 2, "traits": ["email"]},
            secrets={"signing_secret": SECRET},
        ),
    }


def _reached(send, web, used: dict, user="pia", email=EMAIL):
    """``user`` signs up and a journey sends them through every destination in ``used``."""
    steps = {
        "esp": {"type": "esp_list", "action": "subscribe"},
        "audience": {"type": "audience", "action": "add"},
        "hook": {"type": "webhook"},
    }
    journey = [
        {"id": name, **steps[name], "destination_id": destination.pk}
        for name, destination in used.items()
    ]
    for step, after in zip(journey, journey[1:], strict=False):
        step["next"] = after["id"]
    campaign(journey, trigger_event="Signed Up")
    person(send, web, user, email=email, phone=PHONE, adsOptIn=True)
    track(send, web, user, "Signed Up", 0)
    pump(0)
    sent = Delivery.objects.filter(status="sent").values_list("destination_id", flat=True)
    assert sorted(sent) == sorted(d.pk for d in used.values())


def _erase(manager, email=EMAIL) -> PrivacyRequest:
    request = services.create_request(
        kind="erasure",
        identifier_kind="email",
        identifier_value=email,
        verification="email",
        requested_by=manager,
    )
    services.start(request=request, actor=manager)
    tasks.run_privacy_request(request.pk, manager.pk if manager else None)
    return PrivacyRequest.objects.get(pk=request.pk)


def _clear(servers):
    for server in servers.values():
        server.requests.clear()


def _later(minutes: float):
    return timezone.now() + timedelta(minutes=minutes)


def test_an_erasure_deletes_the_person_at_every_destination_that_received_them(
    send, web, servers, manager
):
    used = _destinations(servers)
    _reached(send, web, used)
    _clear(servers)

    erased = _erase(manager)
    assert erased.status == PrivacyRequest.Status.PROPAGATING and erased.completed_at is None
    assert not Delivery.objects.exists()  # erased here; the plan was taken before
    jobs = {job.destination_id: job for job in erased.propagation_jobs.all()}
    assert set(jobs) == {d.pk for d in used.values()}
    assert {job.status for job in jobs.values()} == {"pending"}
    assert all(EMAIL not in job.person_encrypted for job in jobs.values())

    assert tasks.run_propagation_jobs() == 3

    (esp,) = servers["esp"].requests
    member = hashlib.md5(EMAIL.encode()).hexdigest()  # noqa: S324 (the list's member id)
    assert (esp["method"], esp["path"]) == (
        "POST",
        f"/3.0/lists/L1/members/{member}/actions/delete-permanent",
    )
    assert esp["headers"]["authorization"].startswith("Basic ")
    (audience,) = servers["audience"].requests
    assert audience["method"] == "POST" and audience["path"] == "/audience"
    assert json.loads(audience["body"]) == {
        "operations": [
            {
                "remove": {
                    "userIdentifiers": [
                        {"hashedEmail": sha(EMAIL)},
                        {"hashedPhoneNumber": sha(PHONE)},
                    ]
                }
            }
        ]
    }
    assert EMAIL.encode() not in audience["body"] and PHONE.encode() not in audience["body"]
    (hook,) = servers["hook"].requests
    body = json.loads(hook["body"])
    assert body["type"] == "delete" and body["request_id"] == erased.pk
    assert body["profile_ids"] == erased.profile_ids and body["emails"] == [EMAIL]
    assert "phones" not in body  # the webhook is sent the e-mail trait only
    expected = "sha256=" + hmac.new(SECRET.encode(), hook["body"], hashlib.sha256).hexdigest()
    assert hook["headers"]["x-cdp-signature"] == expected
    assert hook["headers"]["idempotency-key"] == f"privacy-delete-{erased.pk}-{used['hook'].pk}"

    done = PrivacyRequest.objects.get(pk=erased.pk)
    assert done.status == PrivacyRequest.Status.COMPLETED and done.completed_at is not None
    for job in done.propagation_jobs.all():
        assert (job.status, job.attempts, job.person_encrypted) == ("succeeded", 1, "")
        assert job.outcome
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions.count("privacy.propagation_succeeded") == 3
    assert "privacy.propagation_complete" in actions


def test_a_destination_answering_500_is_retried_with_backoff_and_then_succeeds(
    send, web, servers, manager
):
    used = _destinations(servers)
    _reached(send, web, {"hook": used["hook"]})
    _clear(servers)
    servers["hook"].statuses = [500, 503]
    erased = _erase(manager)

    assert tasks.run_propagation_jobs() == 1
    (job,) = erased.propagation_jobs.all()
    assert (job.status, job.attempts) == ("failed", 1)
    assert "HTTP 500" in job.last_error
    wait = job.next_attempt_at - job.last_attempt_at
    assert wait == timedelta(seconds=propagation.retry_delay(1)) == timedelta(minutes=1)
    assert propagation.run_due() == 0  # not due yet: nothing is sent early
    assert len(servers["hook"].requests) == 1

    assert propagation.run_due(now=_later(1.5)) == 1
    job.refresh_from_db()
    assert (job.status, job.attempts, "HTTP 503" in job.last_error) == ("failed", 2, True)
    assert job.next_attempt_at - job.last_attempt_at == timedelta(minutes=2)
    assert PrivacyRequest.objects.get(pk=erased.pk).status == "propagating"

    assert propagation.run_due(now=_later(4)) == 1
    job.refresh_from_db()
    assert (job.status, job.attempts, job.last_error, job.person_encrypted) == (
        "succeeded",
        3,
        "",
        "",
    )
    keys = {r["headers"]["idempotency-key"] for r in servers["hook"].requests}
    assert len(servers["hook"].requests) == 3 and len(keys) == 1  # the receiver dedupes
    assert PrivacyRequest.objects.get(pk=erased.pk).status == "completed"


def test_a_destination_that_always_fails_ends_as_a_dead_letter_with_its_error(
    send, web, servers, manager
):
    used = _destinations(servers)
    _reached(send, web, {"esp": used["esp"]})
    _clear(servers)
    servers["esp"].status = 502
    erased = _erase(manager)

    minutes = 0.0
    for attempt in range(1, propagation.MAX_ATTEMPTS + 1):
        assert propagation.run_due(now=_later(minutes)) == 1, attempt
        minutes += propagation.retry_delay(attempt) / 60 + 0.1
    (job,) = erased.propagation_jobs.all()
    assert (job.status, job.attempts, job.next_attempt_at) == ("dead", 6, None)
    assert "HTTP 502" in job.last_error and job.person_encrypted  # kept for a retry
    assert propagation.run_due(now=_later(600)) == 0
    assert len(servers["esp"].requests) == propagation.MAX_ATTEMPTS
    assert PrivacyRequest.objects.get(pk=erased.pk).status == "propagating"
    (dead,) = AuditEntry.objects.filter(action="privacy.propagation_dead")
    assert dead.details["attempts"] == 6 and "HTTP 502" in dead.details["error"]


def test_a_destination_that_times_out_is_retried_then_dead(send, web, servers, manager):
    used = _destinations(servers)
    _reached(send, web, {"hook": used["hook"]})
    _clear(servers)
    destinations.update_destination(
        destination=used["hook"], config={**used["hook"].config, "timeout": 0.3}
    )
    servers["hook"].delay = 1.0
    erased = _erase(manager)
    assert tasks.run_propagation_jobs() == 1
    (job,) = erased.propagation_jobs.all()
    assert job.status == "failed" and "timed out" in job.last_error.lower()
    job.attempts = propagation.MAX_ATTEMPTS - 1  # the last attempt
    job.save()
    assert propagation.run_due(now=_later(60)) == 1
    job.refresh_from_db()
    assert job.status == "dead" and "timed out" in job.last_error.lower()


def test_a_refusal_no_retry_can_fix_is_dead_at_once_and_retry_now_tries_once_more(
    send, web, servers, manager
):
    used = _destinations(servers)
    _reached(send, web, {"audience": used["audience"]})
    _clear(servers)
    servers["audience"].status = 401
    erased = _erase(manager)
    tasks.run_propagation_jobs()
    (job,) = erased.propagation_jobs.all()
    assert (job.status, job.attempts) == ("dead", 1) and "HTTP 401" in job.last_error

    servers["audience"].status = 200
    propagation.retry_now(job=job, actor=manager)
    job.refresh_from_db()
    assert job.status == "pending"
    assert tasks.run_propagation_jobs() == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 2)
    assert PrivacyRequest.objects.get(pk=erased.pk).status == "completed"
    with pytest.raises(propagation.JobError):
        propagation.retry_now(job=job, actor=manager)


def test_marking_a_dead_job_handled_by_hand_completes_the_request(send, web, servers, manager):
    used = _destinations(servers)
    _reached(send, web, {"hook": used["hook"], "esp": used["esp"]})
    _clear(servers)
    servers["hook"].status = 400
    erased = _erase(manager)
    tasks.run_propagation_jobs()
    statuses = dict(erased.propagation_jobs.values_list("destination_id", "status"))
    assert statuses == {used["hook"].pk: "dead", used["esp"].pk: "succeeded"}
    dead = erased.propagation_jobs.get(status="dead")

    with pytest.raises(propagation.JobError, match="note"):
        propagation.mark_handled(job=dead, note="  ", actor=manager)
    propagation.mark_handled(
        job=dead, note="Deleted in the loyalty admin, ticket 42", actor=manager
    )
    dead.refresh_from_db()
    assert (dead.status, dead.handled_by, dead.person_encrypted) == ("handled_by_hand", manager, "")
    done = PrivacyRequest.objects.get(pk=erased.pk)
    assert done.status == "completed" and done.completed_at is not None
    (entry,) = AuditEntry.objects.filter(action="privacy.propagation_handled")
    assert entry.actor_id == manager.pk and entry.details["destination_name"] == "Loyalty webhook"
    with pytest.raises(propagation.JobError):
        propagation.mark_handled(job=dead, note="again", actor=manager)


def test_a_person_never_sent_anything_completes_at_once_without_jobs(send, web, servers, manager):
    used = _destinations(servers)
    _reached(send, web, {"hook": used["hook"]}, user="other", email="other@example.org")
    person(send, web, "pia", email=EMAIL)
    erased = _erase(manager)
    assert erased.status == "completed" and not erased.propagation_jobs.exists()
    assert Delivery.objects.count() == 1  # the other person's


def test_a_list_answering_404_for_the_member_counts_as_deleted_only_if_the_list_exists(
    send, web, servers, manager
):
    used = _destinations(servers)
    _reached(send, web, {"esp": used["esp"]})
    _clear(servers)
    servers["esp"].statuses = [404, 200]  # no such member; the list is there
    erased = _erase(manager)
    tasks.run_propagation_jobs()
    (job,) = erased.propagation_jobs.all()
    assert job.status == "succeeded" and "not a member" in job.outcome
    assert [r["method"] for r in servers["esp"].requests] == ["POST", "GET"]
    assert servers["esp"].requests[1]["path"] == "/3.0/lists/L1"

    servers["esp"].statuses = [404, 404]  # no such list: a setting to fix, not a success
    job.status, job.next_attempt_at = "pending", timezone.now()
    job.person_encrypted = _sealed(erased)
    job.save()
    tasks.run_propagation_jobs()
    job.refresh_from_db()
    assert job.status == "dead" and "HTTP 404" in job.last_error


def _sealed(request) -> str:
    person = {"request_id": request.pk, "profile_ids": request.profile_ids, "emails": [EMAIL]}
    return crypto.encrypt(json.dumps(person))


def test_a_deleted_destination_leaves_a_dead_job_naming_it(send, web, servers, manager):
    used = _destinations(servers)
    _reached(send, web, {"hook": used["hook"]})
    erased = _erase(manager)
    PropagationJob.objects.filter(request=erased).update(destination=None)
    tasks.run_propagation_jobs()
    (job,) = erased.propagation_jobs.all()
    assert job.status == "dead" and "Loyalty webhook was deleted" in job.last_error


def _dead_webhook(send, web, servers, manager=None) -> PrivacyRequest:
    used = _destinations(servers)
    _reached(send, web, {"hook": used["hook"], "esp": used["esp"]})
    servers["hook"].status = 400
    erased = _erase(manager)
    tasks.run_propagation_jobs()
    return erased


def test_the_request_page_shows_each_destination_with_its_error_and_buttons(
    send, web, servers, client_as
):
    client = client_as("Account manager")
    erased = _dead_webhook(send, web, servers)
    dead = erased.propagation_jobs.get(status="dead")
    page = client.get(f"/profiles/privacy/{erased.pk}/").content.decode()
    assert "Erased here, reaching destinations" in page
    assert "Loyalty webhook" in page and "Newsletter list" in page
    assert 'data-job-status="dead"' in page and 'data-job-status="succeeded"' in page
    assert "HTTP 400 from 127.0.0.1" in page and "List member deleted" in page
    assert "Retry now" in page and "Mark handled by hand" in page
    assert 'hx-trigger="every 5s"' not in page  # nothing left for a worker: no polling
    listed = client.get("/profiles/privacy/").content.decode()
    assert "Erased here, reaching destinations" in listed and "30 days left" in listed

    url = f"/profiles/privacy/{erased.pk}/jobs/{dead.pk}/"
    blank = client.post(url + "handled/", {"note": " "})
    assert blank.status_code == 400 and 'role="alert"' in blank.content.decode()
    assert "This field is required" in blank.content.decode()
    retried = client.post(url + "retry/")
    assert retried.status_code == 302
    dead.refresh_from_db()
    assert dead.status == "pending"
    polled = client.get(f"/profiles/privacy/{erased.pk}/", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 5s"' in polled.content.decode()
    assert "<h1>" not in polled.content.decode()
    client.post(url + "handled/", {"note": "Deleted in the receiver's admin"})
    done = client.get(f"/profiles/privacy/{erased.pk}/").content.decode()
    assert "Deleted in the receiver&#x27;s admin" in done and "Handled by hand" in done
    assert PrivacyRequest.objects.get(pk=erased.pk).status == "completed"
    assert "account-manager@example.org" in done


def test_the_api_shows_the_jobs_and_retries_or_marks_them(send, web, servers, client_as):
    api = client_as("Admin")
    erased = _dead_webhook(send, web, servers)
    dead = erased.propagation_jobs.get(status="dead")
    read = api.get(f"/api/v1/privacy-requests/{erased.pk}/").json()
    assert read["status"] == "propagating"
    jobs = {job["destination_name"]: job for job in read["propagation_jobs"]}
    assert jobs["Loyalty webhook"]["status"] == "dead"
    assert jobs["Loyalty webhook"]["action"] == "delete_webhook"
    assert "HTTP 400" in jobs["Loyalty webhook"]["last_error"]
    assert jobs["Newsletter list"]["status"] == "succeeded"
    assert jobs["Newsletter list"]["attempts"] == 1
    listed = api.get("/api/v1/privacy-requests/?status=propagating").json()["results"]
    assert [r["id"] for r in listed] == [erased.pk]

    base = f"/api/v1/privacy-requests/{erased.pk}/jobs/{dead.pk}/"
    no_note = api.post(base + "handled/", {}, content_type="application/json")
    assert no_note.status_code == 400 and "note" in no_note.json()["error"]["fields"]
    retried = api.post(base + "retry/", {}, content_type="application/json")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    again = api.post(base + "retry/", {}, content_type="application/json")
    assert again.status_code == 409
    handled = api.post(base + "handled/", {"note": "done by hand"}, content_type="application/json")
    assert handled.status_code == 200 and handled.json()["status"] == "handled_by_hand"
    assert handled.json()["handled_by"] == "admin@example.org"
    assert api.get(f"/api/v1/privacy-requests/{erased.pk}/").json()["status"] == "completed"
    other = api.post(
        f"/api/v1/privacy-requests/{erased.pk + 1}/jobs/{dead.pk}/retry/",
        {},
        content_type="application/json",
    )
    assert other.status_code == 404  # a job is reached through its own request only


@pytest.mark.parametrize("role", ["Viewer", "Marketer"])
def test_viewers_and_marketers_cannot_retry_or_mark_jobs(send, web, servers, role, client_as):
    erased = _dead_webhook(send, web, servers)
    dead = erased.propagation_jobs.get(status="dead")
    client = client_as(role)
    page = f"/profiles/privacy/{erased.pk}/jobs/{dead.pk}/"
    api = f"/api/v1/privacy-requests/{erased.pk}/jobs/{dead.pk}/"
    assert client.post(page + "retry/").status_code == 403
    assert client.post(page + "handled/", {"note": "x"}).status_code == 403
    assert client.post(api + "retry/").status_code == 403
    assert client.post(api + "handled/", {"note": "x"}).status_code == 403
    assert client.get(f"/api/v1/privacy-requests/{erased.pk}/").status_code == 403
    dead.refresh_from_db()
    assert dead.status == "dead"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_erases_then_reaches_every_destination(send, web, servers, make_user):
    """The erasure and its jobs run in a Celery worker process, queued as the page does."""
    manager = make_user("Account manager")
    used = _destinations(servers)
    _reached(send, web, used)
    _clear(servers)
    request = services.create_request(
        kind="erasure",
        identifier_kind="email",
        identifier_value=EMAIL,
        verification="email",
        requested_by=manager,
    )
    celery_app.control.purge()  # tasks other tests left queued
    worker = start_celery_worker(
        broker_url=settings.CELERY_BROKER_URL, name=f"propagate-{os.getpid()}"
    )
    try:
        services.start(request=request, actor=manager)  # queues the run after commit

        def completed():
            return PrivacyRequest.objects.get(pk=request.pk).status == "completed"

        wait_until(completed, timeout=90, what="the erasure to reach every destination")
    finally:
        stop_process(worker)
    assert [len(s.requests) for s in servers.values()] == [1, 1, 1]
    statuses = set(PropagationJob.objects.filter(request=request).values_list("status", flat=True))
    assert statuses == {"succeeded"}


def test_a_csv_export_that_wrote_the_person_waits_for_a_person_to_delete_the_rows(
    send, web, manager, client, settings, tmp_path
):
    settings.CDP_EXPORT_ROOT = tmp_path
    (tmp_path / "out").mkdir()
    person(send, web, "pia", email=EMAIL)
    everyone = segment_services.create_segment(
        name="E-mail known", rule=rule({"type": "trait", "key": "email", "op": "is_set"})
    )
    membership.recompute(everyone)
    nightly = destinations.create_destination(
        name="Nightly CSV",
        kind="csv_export",
        config={"folder": "out", "segment_id": everyone.pk, "every_hours": 24},
    )
    destinations.create_destination(  # never ran: it wrote no file
        name="Never ran", kind="csv_export", config={"folder": "out", "segment_id": everyone.pk}
    )
    assert export.export_due_segments() == 1

    erased = _erase(manager)
    (job,) = erased.propagation_jobs.all()
    assert (job.destination_id, job.action, job.status) == (nightly.pk, "by_hand", "waiting")
    assert job.person_encrypted == "" and job.next_attempt_at is None  # nothing to send
    assert erased.status == "propagating"
    assert tasks.run_propagation_jobs() == 0
    client.force_login(manager)
    page = client.get(f"/profiles/privacy/{erased.pk}/").content.decode()
    assert "No API to call" in page and str(erased.profile_ids[0]) in page
    propagation.mark_handled(job=job, note="Rows removed from out/*.csv", actor=manager)
    assert PrivacyRequest.objects.get(pk=erased.pk).status == "completed"
