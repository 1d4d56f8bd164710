"""One bad event never stops processing: a failing batch is halved until the bad event
fails alone, which is set aside with its step and error; the system's own failures are
retried instead; an admin replays the quarantine after a fix."""

import pytest
from django.db import OperationalError, connection

from integrations import processing, services
from integrations.models import EventInbox, QuarantinedEvent, Source
from integrations.quarantine import selectors as quarantined
from integrations.quarantine import services as quarantine
from profiles.models import ProfileEvent
from tests.support.signing import signed

pytestmark = pytest.mark.django_db

PIPELINE = [
    "integrations.processing.count_events_per_minute",
    "tests.integrations.test_quarantine.cast_quantities",
    "profiles.pipeline.resolve_batch",
]


def cast_quantities(batch):
    """A real step of the kind an extension adds: PostgreSQL casts each quantity, and a
    quantity that is no integer fails with a real data error (22P02)."""
    with connection.cursor() as cursor:
        for event in batch.events():
            quantity = (event["payload"].get("properties") or {}).get("quantity")
            if quantity is not None:
                cursor.execute("SELECT %s::text::int", [str(quantity)])


def fail_like_a_busy_database(batch):
    """A real serialization failure (SQLSTATE 40001), as a concurrent update causes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access' "
            "USING ERRCODE = 'serialization_failure'; END $$"
        )


def orders(source, quantities, prefix="o"):
    messages = [
        {
            "type": "track",
            "userId": f"{prefix}-user-{i}",
            "event": "Order Completed",
            "messageId": f"{prefix}{i}",
            "properties": {"quantity": q},
        }
        for i, q in enumerate(quantities)
    ]
    stored = services.ingest_messages(source_id=source.id, messages=signed(source, *messages))
    assert stored.stored == len(messages)


def drain():
    while processing.process_inbox_batch():
        pass


@pytest.fixture
def pipeline(settings):
    settings.COLLECT_PROCESSING_STEPS = PIPELINE


def test_an_event_that_fails_alone_is_set_aside_and_the_rest_of_its_batch_is_processed(
    source, pipeline
):
    orders(source, [1, 2, 3, "lots", 5, 6, 7, 8, 9, 10])
    assert processing.process_inbox_batch() == 10
    assert not EventInbox.objects.exists()
    assert ProfileEvent.objects.count() == 9
    bad = QuarantinedEvent.objects.get()
    assert bad.step == "tests.integrations.test_quarantine.cast_quantities"
    assert "22P02" in bad.error and "lots" in bad.error
    assert bad.payload["messageId"] == "o3"
    assert bad.source_id == source.id


def test_several_bad_events_in_one_batch_are_each_set_aside(source, pipeline):
    quantities = list(range(60))
    for i in (0, 31, 59):
        quantities[i] = f"bad {i}"
    orders(source, quantities)
    drain()
    assert sorted(QuarantinedEvent.objects.values_list("payload__messageId", flat=True)) == [
        "o0",
        "o31",
        "o59",
    ]
    assert ProfileEvent.objects.count() == 57


def test_a_failure_of_the_database_itself_is_retried_not_quarantined(source, settings):
    settings.COLLECT_PROCESSING_STEPS = [
        "integrations.processing.count_events_per_minute",
        "tests.integrations.test_quarantine.fail_like_a_busy_database",
    ]
    orders(source, [1, 2, 3])
    with pytest.raises(OperationalError):
        processing.process_inbox_batch()
    assert EventInbox.objects.count() == 3
    assert not QuarantinedEvent.objects.exists()


def test_replaying_after_a_fix_processes_the_event(source, pipeline, settings):
    orders(source, [1, "two", 3])
    drain()
    bad = QuarantinedEvent.objects.get()
    # The fix: the step that failed is gone (in real life, a new release).
    settings.COLLECT_PROCESSING_STEPS = [p for p in PIPELINE if "cast_quantities" not in p]
    assert quarantine.replay(ids=[bad.id]) == 1
    assert not QuarantinedEvent.objects.exists()
    drain()
    assert ProfileEvent.objects.count() == 3


def test_an_event_that_still_fails_on_replay_is_set_aside_again(source, pipeline):
    orders(source, ["x"])
    drain()
    quarantine.replay()
    drain()
    assert QuarantinedEvent.objects.count() == 1
    assert not EventInbox.objects.exists()


def test_replaying_one_source_leaves_the_other_sources_quarantine(source, pipeline):
    other = services.create_source(name="Shop app", kind=Source.Kind.MOBILE_APP)
    orders(source, ["a", "b"], prefix="web")
    orders(other, ["c"], prefix="app")
    drain()
    counts = {row["name"]: row["count"] for row in quarantined.counts_per_source()}
    assert counts == {"Shop website": 2, "Shop app": 1}
    assert quarantine.replay(source_id=other.id) == 1
    assert set(QuarantinedEvent.objects.values_list("source_id", flat=True)) == {source.id}
    assert EventInbox.objects.count() == 1
