"""Dedupe keys without growth: client sources' keys are kept for a window of at least a
week (partitions by week, dropped when past), server sources', file imports' and
webhooks' forever (their ids come from the record: an old file re-imported creates
nothing)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from integrations import partitions, services
from integrations.models import Event, Source

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def keys_for_these_weeks(db):
    partitions.ensure_message_id_partitions(now=NOW - timedelta(days=30))
    partitions.ensure_message_id_partitions(now=NOW)


def send(source, message_id, received_at) -> int:
    message = {"type": "page", "anonymousId": "visitor", "messageId": message_id}
    return services.ingest_messages(
        source_id=source.id, messages=[message], received_at=received_at
    ).stored


def test_a_client_retry_within_the_week_or_the_last_is_stored_once(source, keys_for_these_weeks):
    assert source.is_client
    assert send(source, "m1", NOW - timedelta(days=6)) == 1
    assert send(source, "m1", NOW - timedelta(days=6, seconds=-30)) == 0  # same week
    assert send(source, "m1", NOW) == 0  # last week's partition is still read
    assert Event.objects.filter(message_id="m1").count() == 1


def test_a_client_key_older_than_its_window_no_longer_dedupes(source, keys_for_these_weeks):
    assert send(source, "m2", NOW - timedelta(days=15)) == 1
    assert send(source, "m2", NOW) == 1  # a new message that reuses an old id


def test_server_keys_never_expire(db, keys_for_these_weeks):
    erp = services.create_source(name="ERP", kind=Source.Kind.ERP)
    assert send(erp, "invoice-1", NOW - timedelta(days=300)) == 1
    assert send(erp, "invoice-1", NOW) == 0


def test_the_maintenance_creates_weeks_ahead_and_drops_the_past(source, keys_for_these_weeks):
    send(source, "old", NOW - timedelta(days=20))
    send(source, "recent", NOW - timedelta(days=1))
    week = partitions.week_of(NOW + timedelta(days=14))
    done = partitions.ensure_message_id_partitions(now=NOW + timedelta(days=14))
    assert f"{partitions.KEYS}_w{week + 2}" in done["created"]
    assert f"{partitions.KEYS}_w{week - 2}" in done["dropped"]
    kept = partitions.existing_partitions(partitions.KEYS)
    assert min(int(n.rpartition("_w")[2]) for n in kept if "_w" in n) == week - 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT message_id FROM integrations_recentmessageid")
        assert {row[0] for row in cursor.fetchall()} == set()  # both weeks are past now
