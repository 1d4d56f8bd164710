"""Audience sync: a segment kept in step with a Meta or Google audience. Through the real
parts: people identified through the pipeline, segments evaluated in real time, the
change records read by the sync's cursors, and local imitations of the platforms' APIs
(tests/support/ad_platforms.py) answering as documented, faults included."""

import hashlib
from datetime import timedelta

import pytest

from campaigns.audiences import services, sync
from campaigns.audiences.models import AudienceMember, AudienceSync
from cdp_site.personal_data import Subject, erase_subject
from integrations.destinations import services as destinations
from segments import services as segments
from segments.services import process_profile_changes
from tests.campaigns.conftest import NOW, person
from tests.support import ad_platforms

pytestmark = pytest.mark.django_db

AUDIENCE = ad_platforms.META_AUDIENCE
LIST = ad_platforms.GOOGLE_LIST


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def later(seconds: float):
    return NOW + timedelta(seconds=seconds)


@pytest.fixture
def meta(db, meta_api):
    return ad_platforms.meta_destination(meta_api)


@pytest.fixture
def google(db, google_api):
    return ad_platforms.google_destination(google_api)


@pytest.fixture
def gold(db):
    return segments.create_segment(name="Gold", rule=ad_platforms.GOLD_RULE)


def gold_person(send, web, user, **traits):
    """A gold customer with advertising consent (and e-mail marketing consent)."""
    profile = person(send, web, user, tier="gold", adsOptIn=True, **traits)
    process_profile_changes()
    return profile


def identify(send, web, user, **traits):
    person(send, web, user, consent=False, **traits)
    process_profile_changes()


def emails(rows) -> set[str]:
    return {email for email, _ in rows}


def start(destination, segment, audience_id=AUDIENCE, name="Gold"):
    return services.create_sync(
        name=name, segment=segment, destination=destination, audience_id=audience_id
    )


def test_first_run_uploads_every_consenting_member_in_one_session(send, web, meta, meta_api, gold):
    gold_person(send, web, "ann", phone="+31 20 123 4567")
    gold_person(send, web, "bob")
    person(send, web, "cy", tier="gold")  # no advertising consent
    person(send, web, "dan", tier="silver", adsOptIn=True)
    process_profile_changes()
    made = start(meta, gold)
    sync.run_due(now=NOW)
    assert meta_api.state["audiences"][AUDIENCE] == {
        (sha("ann@example.org"), sha("+31201234567")),
        (sha("bob@example.org"), ""),
    }
    (part,) = meta_api.state["sessions"]
    assert (part["batch_seq"], part["last_batch_flag"], part["estimated_num_total"]) == (
        1,
        True,
        3,
    )
    made.refresh_from_db()
    assert (made.members_sent, made.added_total, made.failed_total) == (2, 2, 0)
    assert made.last_success_at == NOW and made.pending.count() == 0


def test_entering_and_leaving_the_segment_is_sent_as_add_and_remove(
    send, web, meta, meta_api, gold
):
    gold_person(send, web, "ann")
    made = start(meta, gold)
    sync.run_due(now=NOW)
    gold_person(send, web, "bob")
    identify(send, web, "ann", tier="silver")
    sync.run_due(now=later(5))
    assert emails(meta_api.state["audiences"][AUDIENCE]) == {sha("bob@example.org")}
    methods = [r.method for r in meta_api.requests]
    assert methods == ["POST", "DELETE", "POST"]
    made.refresh_from_db()
    assert (made.members_sent, made.added_total, made.removed_total) == (1, 2, 1)


def test_consent_withdrawal_removes_the_person(send, web, meta, meta_api, gold):
    gold_person(send, web, "ann")
    gold_person(send, web, "bob")
    start(meta, gold)
    sync.run_due(now=NOW)
    identify(send, web, "ann", adsOptIn=False)  # still gold, consent withdrawn
    sync.run_due(now=later(5))
    assert emails(meta_api.state["audiences"][AUDIENCE]) == {sha("bob@example.org")}
    assert meta_api.requests[-1].method == "DELETE"


def test_a_changed_email_removes_the_old_hash_and_adds_the_new(send, web, meta, meta_api, gold):
    gold_person(send, web, "ann")
    start(meta, gold)
    sync.run_due(now=NOW)
    identify(send, web, "ann", email="ann.new@example.org")
    sync.run_due(now=later(5))
    assert emails(meta_api.state["audiences"][AUDIENCE]) == {sha("ann.new@example.org")}


def test_a_rate_limit_waits_for_retry_after(send, web, meta, meta_api, gold):
    gold_person(send, web, "ann")
    made = start(meta, gold)
    meta_api.fail_next(
        429,
        headers={"Retry-After": "30"},
        body={"error": {"message": "User request limit reached", "code": 80003}},
    )
    sync.run_due(now=NOW)
    made.refresh_from_db()
    assert made.next_attempt_at == later(30)
    assert "rate limited" in made.last_error
    sync.run_due(now=later(20))
    assert len(meta_api.requests) == 1  # nothing sent before Retry-After
    sync.run_due(now=later(31))
    assert emails(meta_api.state["audiences"][AUDIENCE]) == {sha("ann@example.org")}


def test_a_server_error_backs_off_then_succeeds(send, web, meta, meta_api, gold):
    gold_person(send, web, "ann")
    made = start(meta, gold)
    meta_api.fail_next(500, body={"error": {"message": "An unknown error", "code": 1}})
    sync.run_due(now=NOW)
    made.refresh_from_db()
    assert (made.attempts, made.next_attempt_at, made.members_sent) == (1, later(5), 0)
    sync.run_due(now=later(6))
    made.refresh_from_db()
    assert (made.attempts, made.next_attempt_at, made.members_sent) == (0, None, 1)
    assert emails(meta_api.state["audiences"][AUDIENCE]) == {sha("ann@example.org")}


def test_members_the_platform_rejects_are_counted_failed_and_the_rest_proceed(
    send, web, meta, meta_api, gold
):
    ann = gold_person(send, web, "ann")
    gold_person(send, web, "bob")
    meta_api.state["invalid"].add(sha("ann@example.org"))
    made = start(meta, gold)
    sync.run_due(now=NOW)
    assert emails(meta_api.state["audiences"][AUDIENCE]) == {sha("bob@example.org")}
    made.refresh_from_db()
    assert (made.members_sent, made.failed_total) == (1, 1)
    rejected = AudienceMember.objects.get(sync=made, profile_id=ann.pk)
    assert (rejected.state, rejected.error) == ("failed", "Invalid hashed value")
    assert "1 member(s) rejected" in made.last_error


def test_an_expired_token_pauses_the_sync_until_an_admin_reconnects(
    send, web, meta, meta_api, gold, django_capture_on_commit_callbacks
):
    gold_person(send, web, "ann")
    made = start(meta, gold)
    meta_api.state["token"] = "a-new-token"  # the stored one expired
    sync.run_due(now=NOW)
    made.refresh_from_db()
    assert made.status == AudienceSync.Status.PAUSED
    assert "reconnect" in made.status_message and "code 190" in made.status_message
    sync.run_due(now=later(5))
    assert len(meta_api.requests) == 1  # paused: nothing more is tried
    with django_capture_on_commit_callbacks(execute=True):
        destinations.update_destination(destination=meta, secrets={"access_token": "a-new-token"})
    sync.run_due(now=later(10))
    made.refresh_from_db()
    assert made.status == AudienceSync.Status.ACTIVE and made.members_sent == 1


def test_a_deleted_audience_breaks_its_sync_and_not_the_others(send, web, meta, meta_api, gold):
    gold_person(send, web, "ann")
    gone = start(meta, gold, audience_id="99999", name="Gone")
    kept = start(meta, gold, audience_id="23850000000000002", name="Kept")
    sync.run_due(now=NOW)
    gone.refresh_from_db()
    assert gone.status == AudienceSync.Status.BROKEN
    assert "cannot be found" in gone.status_message
    assert emails(meta_api.state["audiences"][kept.audience_id]) == {sha("ann@example.org")}


def test_resync_everything_sends_every_member_again(send, web, meta, meta_api, gold):
    gold_person(send, web, "ann")
    made = start(meta, gold)
    sync.run_due(now=NOW)
    meta_api.state["audiences"][AUDIENCE].clear()  # emptied on the platform's side
    services.request_full(sync=made)
    sync.run_due(now=later(5))
    assert emails(meta_api.state["audiences"][AUDIENCE]) == {sha("ann@example.org")}


def test_google_sync_adds_then_removes_on_consent_withdrawal(send, web, google, google_api, gold):
    gold_person(send, web, "ann", phone="+31 20 123 4567")
    gold_person(send, web, "bob")
    made = start(google, gold, audience_id=LIST)
    sync.run_due(now=NOW)
    assert emails(google_api.state["lists"][LIST]) == {
        sha("ann@example.org"),
        sha("bob@example.org"),
    }
    identify(send, web, "bob", adsOptIn=False)
    sync.run_due(now=later(5))
    assert google_api.state["lists"][LIST] == {(sha("ann@example.org"), sha("+31201234567"))}
    made.refresh_from_db()
    assert made.match_rate == "20–30 %"  # read from the request's diagnostics
    assert google_api.state["token_requests"] == 1  # the access token was kept


def test_google_revoked_refresh_token_pauses_with_a_reconnect_message(
    send, web, google, google_api, gold
):
    gold_person(send, web, "ann")
    made = start(google, gold, audience_id=LIST)
    google_api.state["refresh_token"] = "1//another"  # the user revoked the grant
    sync.run_due(now=NOW)
    made.refresh_from_db()
    assert made.status == AudienceSync.Status.PAUSED
    assert "invalid_grant" in made.status_message and "reconnect" in made.status_message
    assert google_api.state["lists"][LIST] == set()


def test_a_sync_refuses_a_destination_that_cannot_hold_an_audience(db, gold):
    webhook = destinations.create_destination(
        name="Hook",
        kind="webhook",
        config={"url": "https://x.example/"},
        secrets={"signing_secret": "s"},
    )
    with pytest.raises(services.SyncError) as refused:
        start(webhook, gold)
    assert refused.value.field == "destination"
    with pytest.raises(services.SyncError) as bad_id:
        services.create_sync(name="x", segment=gold, destination=webhook, audience_id="abc")
    assert bad_id.value.field in ("destination", "audience_id")


def test_an_erased_person_is_removed_from_the_audience_with_the_hashes_sent(
    send, web, meta, meta_api, gold
):
    ann = gold_person(send, web, "ann")
    gold_person(send, web, "bob")
    made = start(meta, gold)
    sync.run_due(now=NOW)
    erase_subject(Subject(profile_ids=(ann.pk,)))
    assert not AudienceMember.objects.filter(profile_id=ann.pk).exists()
    sync.run_due(now=later(5))
    assert emails(meta_api.state["audiences"][AUDIENCE]) == {sha("bob@example.org")}
    assert AudienceMember.objects.filter(sync=made).count() == 1  # the detached row is gone
