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
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Delivery
from cdp_site.models import AuditEntry
from integrations.destinations import services as destinations
from profiles import tasks
from profiles.models import PrivacyRequest, PropagationJob
from profiles.privacy import propagation, services
from tests.campaigns.conftest import campaign, person, pump, track
from tests.integrations.test_destinations_adapters import recording_server
from tests.profiles.conftest import message, send, web  # noqa: F401

pytestmark = pytest.mark.django_db

EMAIL, PHONE = "pia@example.org", "+14155550123"
SECRET = "whsec-propagation-0123456789"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture(autouse=True)
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def manager(make_user):
    return make_user("Account manager")


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
    tasks.run_privacy_request(request.pk, manager.pk)
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
