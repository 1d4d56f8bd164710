"""The Mailchimp connector against a local imitation of the Marketing API v3: members
with their consent, campaign e-mail activity, our own audience sync's changes, faults.

Runs are driven slice by slice (``drive``), as the Celery task does."""

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from demo.imitations import mailchimp as chimp
from integrations import processing
from integrations.connectors import own_changes, services, sync
from integrations.connectors.models import StreamState, SyncRun
from integrations.models import Event, RejectedEvent
from profiles.models import ConsentRecord, Identity
from profiles.selectors import consent_states
from tests.support.connectors import drive, remaining_by_slice

pytestmark = pytest.mark.django_db

KEY = "0123456789abcdef0123456789abcdef-us21"
T0 = "2026-03-01T10:00:00+00:00"


def drain() -> None:
    while processing.process_inbox_batch():
        pass


def next_second() -> None:
    """Mailchimp's times are whole seconds: wait for the next one, so that a run starts
    after a change stamped in this one."""
    now = datetime.now(UTC)
    time.sleep(1.02 - now.microsecond / 1_000_000)


@pytest.fixture
def list_id():
    return uuid.uuid4().hex[:10]  # own-change notes live in Redis: one audience per test


@pytest.fixture
def api(list_id):
    members = [chimp.member(f"person{n}@example.com", FNAME=f"P{n}") for n in range(250)]
    imitation = chimp.start(api_key=KEY, list_id=list_id, members=members)
    yield imitation
    imitation.stop()


def connect(api, list_id, *, streams=("members",), key=KEY, base_url=None, **config):
    return services.create_connection(
        name="Mailchimp",
        kind="mailchimp",
        base_url=base_url or api.url + "3.0/",
        config={"list_id": list_id, "page_size": 100, **config},
        secrets={"api_key": key},
        streams={name: {"enabled": True} for name in streams},
    )


def member_requests(api) -> list:
    return [r for r in api.requests if r.path.endswith("/members")]


def profile_of(email: str):
    return Identity.objects.select_related("profile").get(kind__name="email", value=email).profile


def email_consent(profile) -> dict:
    """The profile's e-mail marketing consent as the profile page shows it."""
    return next(s for s in consent_states(profile=profile) if s["purpose"] == "email_marketing")


def since_of(connection) -> str:
    return StreamState.objects.get(connection=connection, stream="members").cursor["since"]


def just_after(since: str) -> str:
    """A change time the next run's window holds: a second after the last run's bound."""
    return chimp.stamp(datetime.fromisoformat(since) + timedelta(seconds=1))


def change(api, email: str, **fields) -> dict:
    at = next(i for i, m in enumerate(api.records) if m["email_address"] == email)
    api.records[at] = {**api.records[at], **fields}
    return api.records[at]


def test_members_are_read_page_by_page_oldest_change_first_and_stored_once(api, list_id):
    run = services.start_run(connection=connect(api, list_id))
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.pages, run.records_read, run.stored, run.rejected) == (3, 250, 250, 0)
    asked = member_requests(api)
    assert [r.query["offset"] for r in asked] == ["0", "100", "200"]
    assert {(r.query["sort_field"], r.query["sort_dir"], r.query["count"]) for r in asked} == {
        ("last_changed", "ASC", "100")
    }
    assert "since_last_changed" not in asked[0].query  # a first run reads the whole audience
    user, _, key = base64.b64decode(asked[0].headers["authorization"][6:]).decode().partition(":")
    assert key == KEY and user  # Basic, any user name, the key as password
    event = Event.objects.get(payload__traits__email="person7@example.com")
    assert event.payload["traits"]["firstName"] == "P7"
    assert "lastName" not in event.payload["traits"]  # a blank merge field is no name
    assert event.timestamp == datetime(2026, 3, 1, 10, tzinfo=UTC)  # the member's last change


def test_each_page_of_members_says_how_many_are_left_from_total_items(api, list_id):
    run = services.start_run(connection=connect(api, list_id))
    assert remaining_by_slice(run, slices=3) == [150, 50, None]
    assert run.status == SyncRun.Status.SUCCEEDED


def test_a_member_changed_after_the_first_run_is_read_on_the_next_run(api, list_id):
    connection = connect(api, list_id)
    drive(services.start_run(connection=connection))
    since = since_of(connection)
    changed_at = just_after(since)
    change(api, "person7@example.com", last_changed=changed_at, merge_fields={"FNAME": "Seven"})
    next_second()
    run = services.start_run(connection=connection)
    drive(run)
    assert member_requests(api)[-1].query["since_last_changed"] == since
    assert (run.records_read, run.stored) == (1, 1)
    newest = Event.objects.filter(payload__traits__email="person7@example.com").latest("timestamp")
    assert newest.payload["traits"]["firstName"] == "Seven"
    later = StreamState.objects.get(connection=connection, stream="members").cursor["since"]
    assert later > since  # the lower bound moved on


def test_subscribe_and_unsubscribe_become_consent_with_source_and_time(api, list_id):
    connection = connect(api, list_id)
    drive(services.start_run(connection=connection))
    drain()
    profile = profile_of("person3@example.com")
    granted = email_consent(profile)
    assert granted["status"] == "granted" and granted["source_id"] == connection.source_id
    assert datetime.fromisoformat(granted["at"]) == datetime(2026, 3, 1, 10, tzinfo=UTC)
    since = since_of(connection)
    left_at = datetime.fromisoformat(since) + timedelta(seconds=1)
    change(api, "person3@example.com", status="unsubscribed", last_changed=chimp.stamp(left_at))
    next_second()
    drive(services.start_run(connection=connection))
    drain()
    profile.refresh_from_db()
    withdrawn = email_consent(profile)
    assert withdrawn["status"] == "withdrawn" and withdrawn["source_id"] == connection.source_id
    assert datetime.fromisoformat(withdrawn["at"]) == left_at
    record = ConsentRecord.objects.filter(profile=profile).latest("recorded_at")
    assert record.evidence["field"] == "context.consent.categoryPreferences.email_marketing"


def test_a_cleaned_address_is_undeliverable_and_consent_stays_as_it_was(api, list_id):
    connection = connect(api, list_id)
    drive(services.start_run(connection=connection))
    drain()
    since = since_of(connection)
    cleaned_at = just_after(since)
    change(api, "person4@example.com", status="cleaned", last_changed=cleaned_at)
    change(api, "person5@example.com", status="pending", last_changed=cleaned_at)
    next_second()
    run = services.start_run(connection=connection)
    drive(run)
    drain()
    assert run.stored == 2
    cleaned, pending = profile_of("person4@example.com"), profile_of("person5@example.com")
    assert cleaned.traits["emailUndeliverable"] is True
    assert profile_of("person6@example.com").traits["emailUndeliverable"] is False
    for profile in (cleaned, pending):
        assert email_consent(profile)["status"] == "granted"  # not a withdrawal
        assert ConsentRecord.objects.filter(profile=profile).count() == 1


def test_a_change_our_own_audience_sync_made_is_not_read_back(api, list_id):
    connection = connect(api, list_id)
    drive(services.start_run(connection=connection))
    since = since_of(connection)
    at = just_after(since)
    ours = change(api, "person1@example.com", status="unsubscribed", last_changed=at)
    change(api, "person2@example.com", status="unsubscribed", last_changed=at)
    own_changes.note_own_change(list_id=list_id, email_hash=ours["id"], changed_at=at)
    next_second()
    run = services.start_run(connection=connection)
    drive(run)
    assert (run.records_read, run.stored) == (1, 1)
    assert "not read back" in run.note
    assert Event.objects.filter(payload__traits__email="person1@example.com").count() == 1
    # The person's own later change of that member is news again.
    since = since_of(connection)
    later = just_after(since)
    change(api, "person1@example.com", status="subscribed", last_changed=later)
    next_second()
    again = services.start_run(connection=connection)
    drive(again)
    assert again.stored == 1


def test_own_change_notes_match_the_same_instant_however_written():
    own_changes.note_own_change(
        list_id="L1", email_hash=own_changes.email_hash("A@Example.com"), changed_at=T0
    )
    found = own_changes.recorded(
        list_id="L1",
        changes=[
            (chimp.subscriber_hash("a@example.com"), "2026-03-01T11:00:00+01:00"),
            (chimp.subscriber_hash("a@example.com"), "2026-03-01T10:00:01+00:00"),
            (chimp.subscriber_hash("b@example.com"), T0),
        ],
    )
    assert found == {0}
    with pytest.raises(ValueError):
        own_changes.note_own_change(list_id="L1", email_hash="x", changed_at="yesterday")


def test_members_changed_while_a_pass_reads_are_neither_missed_nor_stored_twice(api, list_id):
    connection = connect(api, list_id)
    run = services.start_run(connection=connection)
    first = sync.run_slice(run_id=run.id, seq=0)
    # A member already read changes now: it leaves the pass's window and the offsets move.
    change(api, "person0@example.com", last_changed=chimp.stamp())
    seq = first.seq
    while seq is not None:
        seq = sync.run_slice(run_id=run.id, seq=seq).seq
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    emails = set(Event.objects.values_list("payload__traits__email", flat=True))
    assert len(emails) == 250 and Event.objects.count() == 250
    assert any(r.query.get("since_last_changed") for r in member_requests(api))


def test_campaign_activity_becomes_events_stored_once(api, list_id):
    sent = "2026-11-20T09:00:00+00:00"
    people = ["person1@example.com", "person2@example.com", "person3@example.com"]
    chimp.add_campaign(api, campaign_id="c1", list_id=list_id, send_time=sent, recipients=people)
    chimp.add_campaign(api, campaign_id="other", list_id="elsewhere", send_time=sent)
    chimp.add_activity(api, "c1", people[0], "open", "2026-11-20T10:00:00+00:00")
    chimp.add_activity(
        api, "c1", people[0], "click", "2026-11-20T10:01:00+00:00", url="https://s.example/x"
    )
    chimp.add_activity(api, "c1", people[2], "bounce", "2026-11-20T09:00:05+00:00", type="hard")
    connection = connect(api, list_id, streams=("activity",), activity_days=365)
    run = services.start_run(connection=connection)
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED
    names = sorted(Event.objects.values_list("event", flat=True))
    assert names == [
        "Email Bounced",
        "Email Link Clicked",
        "Email Opened",
        "Email Sent",
        "Email Sent",
        "Email Sent",
    ]
    click = Event.objects.get(event="Email Link Clicked").payload
    assert click["properties"]["url"] == "https://s.example/x"
    assert click["properties"]["campaignId"] == "c1"
    assert click["context"]["traits"]["email"] == people[0]
    bounce = Event.objects.get(event="Email Bounced").payload
    assert bounce["properties"]["bounceType"] == "hard"
    campaigns = [r for r in api.requests if r.path.endswith("/campaigns")]
    assert campaigns[0].query["list_id"] == list_id and campaigns[0].query["status"] == "sent"
    # A second run stores nothing new, and does not read the recipients again.
    chimp.add_activity(api, "c1", people[1], "open", chimp.stamp())
    again = services.start_run(connection=connection)
    drive(again)
    assert again.stored == 1 and Event.objects.filter(event="Email Opened").count() == 2
    assert len([r for r in api.requests if r.path.endswith("/sent-to")]) == 1
    activity = [r for r in api.requests if r.path.endswith("/email-activity")]
    assert "since" not in activity[0].query and "since" in activity[-1].query
    third = services.start_run(connection=connection)
    drive(third)
    assert (third.stored, third.duplicates) == (0, 1)  # the last hour is read again, once


def test_a_429_waits_for_retry_after_then_goes_on(api, list_id):
    run = services.start_run(connection=connect(api, list_id))
    api.fail_next(
        429,
        headers={"Retry-After": "9"},
        body={"title": "Too Many Requests", "status": 429, "detail": "10 simultaneous"},
    )
    waited = sync.run_slice(run_id=run.id, seq=0)
    assert waited == sync.Next(seq=1, delay=9)
    seq = waited.seq
    while seq is not None:
        seq = sync.run_slice(run_id=run.id, seq=seq).seq
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED and run.stored == 250 and run.retries == 0


def test_a_revoked_key_fails_the_run_with_mailchimps_reason(api, list_id):
    run = services.start_run(connection=connect(api, list_id))
    api.state["api_key"] = "ffffffffffffffffffffffffffffffff-us21"  # the old key was revoked
    drive(run)
    assert run.status == SyncRun.Status.FAILED
    assert "Mailchimp refused the API key" in run.error
    assert Event.objects.count() == 0


def test_a_500_is_retried_and_the_run_completes(api, list_id):
    run = services.start_run(connection=connect(api, list_id))
    api.fail_next(500, body={"title": "Internal Server Error", "status": 500})
    steps = drive(run)
    assert steps[0].delay > 0
    assert run.status == SyncRun.Status.SUCCEEDED and run.stored == 250


def test_a_member_without_an_address_is_rejected_with_its_reason_and_the_rest_stored(api, list_id):
    del api.records[3]["email_address"]
    run = services.start_run(connection=connect(api, list_id))
    drive(run)
    assert (run.stored, run.rejected) == (249, 1)
    assert run.errors[0]["reason"] == "The record has no primary key ($.email_address)."
    assert api.records[3]["id"] in run.errors[0]["record"]
    assert RejectedEvent.objects.get().code == "connector_record"


def test_test_connection_names_what_is_wrong(api, list_id):
    connection = connect(api, list_id)
    assert services.test_connection(connection=connection).ok
    assert [r.path for r in api.requests] == ["/3.0/ping", f"/3.0/lists/{list_id}"]
    services.update_connection(connection=connection, config={"list_id": "nosuch"})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "config") and "no audience" in result.message
    services.update_connection(connection=connection, config={"list_id": list_id})
    services.set_secrets(connection=connection, secrets={"api_key": "0" * 32 + "-us21"})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "auth") and "API Key Invalid" in result.message
    # The right key of another data centre: the imitation answers as Mailchimp does.
    services.set_secrets(connection=connection, secrets={"api_key": KEY[:-4] + "us6"})
    result = services.test_connection(connection=connection)
    assert result.code == "auth" and "data centre" in result.message


def test_the_data_centre_comes_from_the_key(api, list_id):
    connection = connect(api, list_id, base_url="https://api.mailchimp.com/3.0/")
    assert sync.reader_for(connection).base_url == "https://us21.api.mailchimp.com/3.0/"
    wrong = connect(api, list_id, base_url="https://us6.api.mailchimp.com/3.0/")
    result = services.test_connection(connection=wrong)
    assert (result.ok, result.code) == (False, "config")
    assert "data centre us21" in result.message and "us6.api.mailchimp.com" in result.message
    services.set_secrets(connection=connection, secrets={"api_key": "0" * 32})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "config") and "-us21" in result.message


def test_a_campaign_deleted_while_a_pass_reads_is_skipped_and_the_rest_read(api, list_id):
    sent = "2026-11-20T09:00:00+00:00"
    for campaign_id in ("c1", "c2"):
        chimp.add_campaign(
            api, campaign_id=campaign_id, list_id=list_id, send_time=sent, recipients=["a@x.io"]
        )
    connection = connect(api, list_id, streams=("activity",), activity_days=365)
    run = services.start_run(connection=connection)
    listed = sync.run_slice(run_id=run.id, seq=0)  # the campaigns to read
    api.state["campaigns"] = [c for c in api.state["campaigns"] if c["id"] != "c1"]
    seq = listed.seq
    while seq is not None:
        seq = sync.run_slice(run_id=run.id, seq=seq).seq
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    sent_events = Event.objects.filter(event="Email Sent")
    assert [e.payload["properties"]["campaignId"] for e in sent_events] == ["c2"]


def test_an_audience_deleted_since_fails_the_run_saying_so(api, list_id):
    run = services.start_run(connection=connect(api, list_id))
    api.state["lists"].clear()
    drive(run)
    assert run.status == SyncRun.Status.FAILED
    assert f"no audience with id {list_id!r}" in run.error
