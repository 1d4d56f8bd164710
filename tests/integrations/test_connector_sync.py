"""Pull connectors' sync runs against a real local JSON API (the generic REST connector).

The runs are driven slice by slice here (``drive``), as the Celery task does, so that each
test can watch what a slice stored, what it waits for and where its cursor stands."""

import socket
from datetime import UTC, datetime, timedelta

import pytest

from demo.imitations import rest as rest_api
from integrations.connectors import services, sync
from integrations.connectors.models import StreamState, SyncRun
from integrations.models import Event, RejectedEvent
from tests.support.connectors import drive

pytestmark = pytest.mark.django_db


def customer(n: int, *, updated: str = "2026-03-01T10:00:00Z", **extra) -> dict:
    return {"id": f"c{n}", "email": f"person{n}@example.com", "updated_at": updated, **extra}


@pytest.fixture
def api():
    imitation = rest_api.start(records=[customer(n) for n in range(250)], token="t0ken")
    yield imitation
    imitation.stop()


def connect(api, **config) -> "services.Connection":
    return services.create_connection(
        name="Partner API",
        kind="rest",
        base_url=api.url,
        config=rest_api.connector_config(page_size=100, since_param="updated_since", auth="bearer")
        | config,
        secrets={"token": "t0ken"},
        schedule_minutes=60,
    )


def stored() -> list[str]:
    return sorted(Event.objects.values_list("user_id", flat=True))


def test_sync_reads_every_page_and_stores_each_record_once(api):
    run = services.start_run(connection=connect(api))
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.pages, run.records_read, run.stored, run.rejected) == (3, 250, 250, 0)
    assert len(set(stored())) == 250
    assert [r.query.get("page") for r in api.requests] == ["1", "2", "3"]
    # The next run asks only for what changed since the newest record it saw, and the
    # overlap (the same updated-at, inclusive) is recognised, not stored again.
    again = services.start_run(connection=run.connection)
    drive(again)
    assert api.requests[-1].query["updated_since"] == "2026-03-01T10:00:00Z"
    assert (again.records_read, again.stored, again.duplicates) == (250, 0, 250)
    assert Event.objects.count() == 250


def test_a_record_changed_since_the_last_run_is_stored_again(api):
    connection = connect(api)
    drive(services.start_run(connection=connection))
    api.records[7] = customer(7, updated="2026-04-02T08:00:00Z", plan="gold")
    run = services.start_run(connection=connection)
    drive(run)
    assert api.requests[-1].query["updated_since"] == "2026-03-01T10:00:00Z"
    assert run.stored == 1
    newest = Event.objects.filter(user_id="c7").order_by("-timestamp").first()
    assert newest.timestamp == datetime(2026, 4, 2, 8, tzinfo=UTC)  # the record's own time
    state = StreamState.objects.get(connection=connection, stream="records")
    assert state.cursor == {"since": "2026-04-02T08:00:00Z"}


def test_a_429_waits_for_retry_after_then_goes_on(api):
    run = services.start_run(connection=connect(api))
    api.fail_next(429, headers={"Retry-After": "7"})
    waited = sync.run_slice(run_id=run.id, seq=0)
    assert waited == sync.Next(seq=1, delay=7)
    run.refresh_from_db()
    assert "429" in run.note and run.waiting_until > datetime.now(UTC) + timedelta(seconds=5)
    assert run.retries == 0  # a rate limit is no failure
    seq = waited.seq
    while seq is not None:
        seq = sync.run_slice(run_id=run.id, seq=seq).seq
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED and run.stored == 250


def test_a_500_is_retried_with_backoff_and_the_run_completes(api):
    run = services.start_run(connection=connect(api))
    api.fail_next(500, times=2)
    steps = drive(run)
    assert [s.delay > 0 for s in steps[:2]] == [True, True]
    assert run.status == SyncRun.Status.SUCCEEDED and run.stored == 250


def test_a_server_that_keeps_failing_fails_the_run_after_the_retries(api):
    run = services.start_run(connection=connect(api))
    api.fail_next(503, times=sync.MAX_RETRIES + 1)
    drive(run)
    assert run.status == SyncRun.Status.FAILED
    assert "HTTP 503" in run.error


def test_a_revoked_token_fails_the_run_with_a_message_to_act_on(api):
    run = services.start_run(connection=connect(api))
    api.token = "rotated"
    drive(run)
    assert run.status == SyncRun.Status.FAILED
    assert "refused the credentials (401)" in run.error
    assert Event.objects.count() == 0


def test_a_record_without_its_key_is_rejected_and_the_rest_stored(api):
    api.records[3] = {"email": "nokey@example.com", "updated_at": "2026-03-01T10:00:00Z"}
    run = services.start_run(connection=connect(api))
    drive(run)
    assert (run.stored, run.rejected) == (249, 1)
    assert run.errors[0]["reason"] == "The record has no primary key ($.id)."
    assert "nokey@example.com" in run.errors[0]["record"]
    assert RejectedEvent.objects.get().code == "connector_record"


def test_a_page_that_repeats_its_cursor_stops_the_run(api):
    api.state["style"] = "cursor"
    api.handler = lambda imitation, request: (
        200,
        {},
        {"data": [customer(1)], "next_cursor": "same"},
    )
    run = services.start_run(connection=connect(api, paging="cursor", cursor_param="cursor"))
    drive(run)
    assert run.status == SyncRun.Status.FAILED
    assert "same next cursor" in run.error
    assert run.stored == 1  # the first page's record is kept


def test_link_paging_follows_the_link_header(api):
    api.state["style"] = "link"
    run = services.start_run(connection=connect(api, paging="link", page_size=100))
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED and run.stored == 250
    assert [r.query.get("offset") for r in api.requests] == [None, "100", "200"]


def test_a_link_to_another_host_is_not_followed(api):
    api.handler = lambda imitation, request: (
        200,
        {"Link": '<http://example.org/customers?page=2>; rel="next"'},
        {"data": [customer(1)]},
    )
    run = services.start_run(connection=connect(api, paging="link"))
    drive(run)
    assert run.status == SyncRun.Status.FAILED
    assert "not the connection's host" in run.error
    assert [r.path for r in api.requests] == ["/customers"]


def test_a_slice_delivered_twice_stores_its_page_once(api):
    run = services.start_run(connection=connect(api))
    first = sync.run_slice(run_id=run.id, seq=0)
    assert sync.run_slice(run_id=run.id, seq=0) == sync.DONE  # stale: slice 0 is stored
    assert first.seq == 1
    assert Event.objects.count() == 100


def test_cancel_stops_the_run_at_its_next_slice(api):
    run = services.start_run(connection=connect(api))
    sync.run_slice(run_id=run.id, seq=0)
    services.cancel_run(run=run)
    assert sync.run_slice(run_id=run.id, seq=1) == sync.DONE
    run.refresh_from_db()
    assert run.status == SyncRun.Status.CANCELLED and run.stored == 100


def test_one_run_at_a_time_per_connection(api):
    connection = connect(api)
    services.start_run(connection=connection)
    with pytest.raises(services.RunActive):
        services.start_run(connection=connection)


def test_full_resync_reads_everything_again_and_stores_nothing_twice(api):
    connection = connect(api)
    drive(services.start_run(connection=connection))
    run = services.start_run(connection=connection, trigger=SyncRun.Trigger.FULL)
    drive(run)
    assert "updated_since" not in api.requests[-3].query
    assert (run.records_read, run.stored, run.duplicates) == (250, 0, 250)


def test_history_is_flagged_and_new_changes_are_not(api):
    connection = connect(api)
    api.records.append(
        customer(999, updated=(datetime.now(UTC) + timedelta(minutes=1)).isoformat())
    )
    drive(services.start_run(connection=connection))
    old = Event.objects.get(user_id="c1").payload
    new = Event.objects.get(user_id="c999").payload
    assert old["context"]["backfill"] is True
    assert "backfill" not in new["context"]


def test_due_connections_start_on_schedule_and_paused_ones_do_not(api):
    now = datetime.now(UTC)
    due, paused = connect(api), connect(api)
    services.set_paused(connection=paused, paused=True)
    assert services.start_due_runs(now=now + timedelta(seconds=1)) == 1
    assert SyncRun.objects.get().connection == due
    due.refresh_from_db()
    assert due.next_run_at > now + timedelta(minutes=59)


def test_secrets_are_stored_encrypted(api):
    connection = connect(api)
    assert "t0ken" not in connection.secrets_encrypted
    assert sync.secrets_of(connection) == {"token": "t0ken"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"config": {"path": "/c", "nonsense": 1}}, "config.nonsense"),
        ({"config": {"path": ""}}, "config.path"),
        ({"streams": {"records": {"rules": "traits.x = customer.email"}}}, "streams.records.rules"),
        ({"streams": {"orders": {}}}, "streams.orders"),
        ({"streams": {"records": {"primary_key": "id"}}}, "streams.records.primary_key"),
        ({"streams": {"records": {"message_kind": "page"}}}, "streams.records.message_kind"),
        ({"schedule_minutes": 1}, "schedule_minutes"),
        ({"kind": "nosuch"}, "kind"),
    ],
)
def test_bad_connection_settings_name_the_field(changes, field):
    with pytest.raises(services.ConnectionInvalid) as caught:
        services.create_connection(name="X", **({"kind": "rest"} | changes))
    assert field in caught.value.errors


def test_test_connection_says_what_is_wrong(api):
    connection = connect(api)
    assert services.test_connection(connection=connection).ok
    services.set_secrets(connection=connection, secrets={"token": "wrong"})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "auth")
    api.stop()
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "unreachable")
    assert "could not be reached" in result.message


def test_an_answer_larger_than_the_page_limit_fails_the_run_clearly(api, settings):
    settings.CDP_CONNECTOR_MAX_PAGE_BYTES = 64 * 1024
    api.records = [customer(n, note="x" * 2000) for n in range(100)]  # ~200 KB a page
    run = services.start_run(connection=connect(api))
    drive(run)
    assert run.status == SyncRun.Status.FAILED
    assert "larger than" in run.error
    assert Event.objects.count() == 0


def test_a_host_that_never_answers_times_out_and_fails_after_the_retries(settings):
    settings.CDP_CONNECTOR_TIMEOUT_SECONDS = 0.3
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        connection = services.create_connection(
            name="Silent", kind="rest", base_url=f"http://127.0.0.1:{port}/", config={"path": "/c"}
        )
        run = services.start_run(connection=connection)
        steps = drive(run)
    assert len(steps) == sync.MAX_RETRIES + 1
    assert run.status == SyncRun.Status.FAILED
    assert "could not be reached" in run.error and "timed out" in run.error


def test_a_disabled_source_runs_no_sync(api):
    connection = connect(api)
    connection.source.enabled = False
    connection.source.save()
    with pytest.raises(services.SourceOff, match="disabled"):
        services.start_run(connection=connection)
    assert services.start_due_runs(now=datetime.now(UTC) + timedelta(hours=2)) == 0
