# ruff: noqa: F811 (pytest fixtures imported from other conftests, used as arguments)
"""Retention (profiles/retention): a month of raw events past every rule that can apply to
it is detached and dropped whole, the rest goes in batches by event time under the most
specific rule (source and name > name > source > default), the resolved events with their
raw copies; the preview says what the run then removes; inactive people are anonymised or
deleted; a failing step does not stop the others; rules and settings are audited."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection, transaction

from cdp_site.models import AuditEntry
from cdp_site.partitions import create, existing_partitions, lock_and_connect
from integrations import services as collect
from integrations.models import Event, EventInbox
from profiles.models import (
    Identity,
    Profile,
    ProfileEvent,
    RetentionRun,
    TraitValue,
    UnresolvedEvent,
)
from profiles.retention import events, selectors, services
from tests.profiles.conftest import backend, crm, drain, profile_of  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
JUNE_2024 = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)  # 30 months before NOW
JUNE_NAME = "integrations_event_y2024m06"


def _month(start: datetime) -> None:
    """The raw table's partition of ``start``'s month, as the partition task makes them."""
    end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    first = start.replace(day=1, hour=0, minute=0)
    with transaction.atomic():
        create(
            lock_and_connect(),
            name=f"integrations_event_y{first.year:04d}m{first.month:02d}",
            start=first,
            end=end,
            parent="integrations_event",
            column="received_at",
        )


_seq = iter(range(1, 10**6))


def _store(source, *, at: datetime, event: str = "Page Viewed", user: str = "u1", received=None):
    """One track event of ``user`` at ``at``, received at ``received`` (default: at), and
    resolved."""
    body = {
        "type": "track",
        "messageId": f"ret-{next(_seq)}",
        "userId": user,
        "event": event,
        "timestamp": at.isoformat(),
    }
    result = collect.ingest_messages(
        source_id=source.id, messages=[body], received_at=received or at
    )
    assert result.stored == 1, result
    drain()


def _count(rows, name_field: str, name: str | None, source) -> int:
    if name:
        rows = rows.filter(**{name_field: name})
    if source:
        rows = rows.filter(source_id=source.pk)
    return rows.count()


def _raw(event: str | None = None, source=None) -> int:
    return _count(Event.objects.all(), "event", event, source)


def _resolved(name: str | None = None, source=None) -> int:
    return _count(ProfileEvent.objects.all(), "name", name, source)


def _analyze(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")  # noqa: S608 (a constant)


def test_a_whole_expired_month_is_detached_and_dropped_and_new_events_still_land(backend):
    _month(JUNE_2024)
    for n in range(3):
        _store(backend, at=JUNE_2024 + timedelta(hours=n))
    _store(backend, at=NOW - timedelta(days=3), received=NOW - timedelta(days=3))
    _analyze(JUNE_NAME)

    preview = selectors.plan(NOW)
    assert [p["name"] for p in preview.partitions] == [JUNE_NAME]
    assert preview.partitions[0]["rows"] == 3  # the planner's estimate, after ANALYZE

    done = services.run(now=NOW)

    assert done.partitions_dropped == [JUNE_NAME] and done.errors == {}
    assert JUNE_NAME not in existing_partitions("integrations_event")
    assert _raw() == 1 and _resolved() == 1  # this month's event stays
    assert done.removed["raw_partitions"] == 3
    assert done.removed["events:Page Viewed"] == 3  # their resolved copies, by event time
    _store(backend, at=NOW, received=NOW)
    assert _raw() == 2


def test_the_rows_hanging_off_a_dropped_months_events_go_with_it(backend):
    _month(JUNE_2024)
    body = {"type": "track", "userId": "u5", "event": "X", "timestamp": JUNE_2024.isoformat()}
    for n, received in enumerate((JUNE_2024, NOW - timedelta(days=1))):
        collect.ingest_messages(
            source_id=backend.id,
            messages=[{**body, "messageId": f"hang-{n}"}],
            received_at=received,
        )
    for event in Event.objects.all():  # as processing records events it could not link
        UnresolvedEvent.objects.create(
            event_id=event.pk, received_at=event.received_at, source=backend, reason="blocked"
        )

    done = services.run(now=NOW)

    assert done.partitions_dropped == [JUNE_NAME]
    assert done.removed["unresolved"] == 1 and done.removed["inbox"] == 1
    kept = Event.objects.get()
    assert list(UnresolvedEvent.objects.values_list("event_id", flat=True)) == [kept.pk]
    assert list(EventInbox.objects.values_list("event_id", flat=True)) == [kept.pk]


def test_old_rows_in_the_default_partition_go_with_their_inbox_rows(backend):
    old = datetime(2024, 3, 5, tzinfo=UTC)  # no partition for March 2024: DEFAULT holds it
    body = {"type": "track", "messageId": "in-default", "userId": "u9", "event": "Old"}
    collect.ingest_messages(
        source_id=backend.id, messages=[{**body, "timestamp": old.isoformat()}], received_at=old
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations_event_default")
        assert cursor.fetchone()[0] == 1
    assert selectors.plan(NOW).default_rows == 1

    done = services.run(now=NOW)

    assert done.removed["raw_default"] == 1 and done.removed["inbox"] == 1
    assert _raw() == 0 and not EventInbox.objects.exists()
    assert "integrations_event_default" in existing_partitions("integrations_event")


def test_a_rule_per_event_name_deletes_only_that_names_old_events(backend):
    services.create_policy(event_name="Page Viewed", keep_months=3)
    recent = NOW - timedelta(days=2)
    _store(backend, at=NOW - timedelta(days=150), received=recent)  # old page view
    _store(backend, at=NOW - timedelta(days=30), received=recent)  # page view in its window
    _store(backend, at=NOW - timedelta(days=150), event="Order Completed", received=recent)

    services.run(now=NOW)

    assert _raw("Page Viewed") == 1 and _resolved("Page Viewed") == 1
    assert _raw("Order Completed") == 1 and _resolved("Order Completed") == 1
    kept = ProfileEvent.objects.get(name="Page Viewed")
    assert kept.timestamp == NOW - timedelta(days=30)


def test_a_longer_rule_for_a_source_keeps_its_month_and_the_others_go_in_batches(backend, crm):
    services.create_policy(source=crm, keep_months=60)
    _month(JUNE_2024)
    _store(backend, at=JUNE_2024, user="b1")
    _store(crm, at=JUNE_2024, user="c1")
    never_resolved = {"type": "track", "messageId": "raw-only", "userId": "b2", "event": "X"}
    collect.ingest_messages(
        source_id=backend.id,
        messages=[{**never_resolved, "timestamp": JUNE_2024.isoformat()}],
        received_at=JUNE_2024,
    )
    preview = selectors.plan(NOW)
    assert preview.partitions == []
    assert [(r["source"], r["rows"]) for r in preview.by_source] == [(backend.pk, 2)]

    done = services.run(now=NOW)

    assert done.partitions_dropped == []
    assert JUNE_NAME in existing_partitions("integrations_event")
    assert _raw(source=backend) == 0 and _resolved(source=backend) == 0
    assert _raw(source=crm) == 1 and _resolved(source=crm) == 1
    # the month's rows of the backend by its source index, the one never resolved included;
    # then its resolved event, by event time (its raw copy gone already)
    assert done.removed["raw_by_source"] == 2 and done.removed["raw_events"] == 0
    assert done.removed["events:Page Viewed"] == 1


def test_a_month_goes_whole_but_for_the_events_a_longer_name_rule_keeps(backend, crm):
    services.create_policy(event_name="Order Completed", keep_months=84)
    services.create_policy(source=crm, event_name="Refund", keep_months=60)
    _month(JUNE_2024)
    _store(backend, at=JUNE_2024, event="Page Viewed")
    _store(backend, at=JUNE_2024, event="Order Completed")
    _store(crm, at=JUNE_2024, event="Refund", user="c")
    _store(backend, at=JUNE_2024, event="Refund")  # the pair rule is crm's only
    preview = selectors.plan(NOW)
    assert preview.partitions[0]["kept_events"] == ["Order Completed", "Refund (CRM)"]

    done = services.run(now=NOW)

    assert done.partitions_dropped == [JUNE_NAME]
    assert done.removed["raw_kept_in_default"] == 2
    left = set(Event.objects.values_list("source_id", "event"))
    assert left == {(backend.pk, "Order Completed"), (crm.pk, "Refund")}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations_event_default")
        assert cursor.fetchone()[0] == 2
    resolved = set(ProfileEvent.objects.values_list("source_id", "name"))
    assert resolved == {(backend.pk, "Order Completed"), (crm.pk, "Refund")}


def test_the_most_specific_rule_wins(backend, crm):
    services.create_policy(source=crm, keep_months=2)
    services.create_policy(event_name="Order Completed", keep_months=48)
    services.create_policy(source=crm, event_name="Order Completed", keep_months=1)
    three_months = NOW - timedelta(days=95)
    _store(crm, at=three_months, event="Order Completed", user="c")  # pair rule: 1 month
    _store(backend, at=three_months, event="Order Completed", user="b")  # name rule: 48
    _store(crm, at=three_months, event="Signed Up", user="c")  # source rule: 2 months
    _store(backend, at=three_months, event="Signed Up", user="b")  # default: 25 months

    services.run(now=NOW)

    left = set(ProfileEvent.objects.values_list("source_id", "name"))
    assert left == {(backend.pk, "Order Completed"), (backend.pk, "Signed Up")}


def test_the_preview_counts_what_the_run_then_removes_and_a_second_run_removes_nothing(
    backend, crm
):
    services.create_policy(event_name="Page Viewed", keep_months=1)
    services.create_policy(source=crm, event_name="Page Viewed", keep_months=6)
    recent = NOW - timedelta(days=1)
    for days in (10, 40, 70, 200, 900):
        _store(backend, at=NOW - timedelta(days=days), received=recent, user="b")
        _store(crm, at=NOW - timedelta(days=days), received=recent, user="c")
        _store(backend, at=NOW - timedelta(days=days), event="Order", received=recent)

    preview = {n["name"]: n["rows"] for n in selectors.plan(NOW).names}
    done = services.run(now=NOW)

    assert preview == {"Page Viewed": 4 + 2, "Order": 1}
    assert {
        k.removeprefix("events:"): n
        for k, n in done.removed.items()
        if k.startswith("events:") and n
    } == preview
    assert done.removed["raw_events"] == 7
    again = services.run(now=NOW)
    assert sum(again.removed.values()) == 0
    assert selectors.plan(NOW).names == []


def test_batches_are_small_transactions_that_together_remove_everything(backend, settings):
    settings.RETENTION_BATCH_SIZE = 2
    recent = NOW - timedelta(days=1)
    for n in (0, 1, 1, 1, 2):  # three at the same time, across two batches
        _store(backend, at=NOW - timedelta(days=800, minutes=n), received=recent)

    done = services.run(now=NOW)

    assert done.removed["events:Page Viewed"] == 5 and done.removed["raw_events"] == 5
    assert _raw() == 0


def test_a_failing_step_is_recorded_and_the_others_go_on(backend, monkeypatch):
    recent = NOW - timedelta(days=1)
    _store(backend, at=NOW - timedelta(days=900), event="A", received=recent)
    _store(backend, at=NOW - timedelta(days=900), event="B", received=recent)
    real = events.delete_expired

    def fails_for_a(cut):
        if cut.name == "A":
            raise RuntimeError("disk on fire")
        return real(cut)

    monkeypatch.setattr(events, "delete_expired", fails_for_a)

    done = services.run(now=NOW)

    assert done.errors == {"events:A": "RuntimeError: disk on fire"}
    assert _resolved("A") == 1 and _resolved("B") == 0
    assert done.finished_at is not None


def _inactive(backend, user: str) -> Profile:
    _store(backend, at=NOW - timedelta(days=10), user=user)
    profile = profile_of("user_id", user)
    long_ago = NOW - timedelta(days=4 * 365)
    Profile.objects.filter(pk=profile.pk).update(
        last_seen_at=long_ago,
        updated_at=long_ago,
        created_at=long_ago,
        display_name="Ina",
        traits={"email": "ina@example.org"},
    )
    return profile


def test_inactive_profiles_are_anonymised_keeping_their_id(backend):
    services.update_settings(inactive_years=3)
    gone = _inactive(backend, "ina")
    _store(backend, at=NOW - timedelta(days=1), user="active")
    assert selectors.plan(NOW).profiles["rows"] == 1

    done = services.run(now=NOW)

    gone.refresh_from_db()
    assert done.removed["profiles_anonymised"] == 1
    assert gone.display_name == "" and gone.traits == {}
    assert [i.value for i in Identity.objects.filter(profile=gone)] == [
        f"anonymised-{i.pk}" for i in Identity.objects.filter(profile=gone)
    ]
    assert not TraitValue.objects.filter(profile=gone).exists()
    assert ProfileEvent.objects.filter(profile=gone).exists()  # within its retention
    assert profile_of("user_id", "active")  # the active person's identifier is untouched
    assert selectors.plan(NOW).profiles["rows"] == 0


def test_inactive_profiles_are_deleted_through_the_registry_when_set(backend):
    services.update_settings(inactive_years=3, inactive_action="delete")
    gone = _inactive(backend, "ina")

    done = services.run(now=NOW)

    assert done.removed["profiles_deleted"] == 1
    assert not Profile.objects.filter(pk=gone.pk).exists()
    assert not ProfileEvent.objects.filter(profile_id=gone.pk).exists()
    assert _raw() == 0  # the raw events were the person's too


def test_operational_windows_run_from_the_same_run(backend, settings):
    from integrations.models import RejectedEvent

    RejectedEvent.objects.create(
        source=backend, code="x", reason="y", received_at=NOW - timedelta(days=30)
    )
    preview = {o["key"]: o["rows"] for o in selectors.plan(NOW).operational}
    assert preview["rejected_events"] == 1 and "step_logs" in preview

    done = services.run(now=NOW)

    assert done.removed["op:rejected_events"] == 1 and not RejectedEvent.objects.exists()


def test_a_rule_with_bad_input_is_refused_at_its_field(backend):
    with pytest.raises(services.RetentionError) as months:
        services.create_policy(event_name="Page Viewed", keep_months=0)
    assert [e["field"] for e in months.value.errors] == ["keep_months"]
    with pytest.raises(services.RetentionError) as scope:
        services.create_policy(event_name="  ", keep_months=3)
    assert [e["field"] for e in scope.value.errors] == ["event_name"]
    services.create_policy(source=backend, event_name="A", keep_months=3)
    with pytest.raises(services.RetentionError) as twice:
        services.create_policy(source=backend, event_name="A", keep_months=4)
    assert [e["field"] for e in twice.value.errors] == ["event_name"]
    with pytest.raises(services.RetentionError) as default:
        services.update_settings(default_months=0)
    assert [e["field"] for e in default.value.errors] == ["default_months"]


def test_every_change_of_rules_and_settings_is_audited_with_before_and_after(backend):
    policy = services.create_policy(event_name="A", keep_months=3)
    services.update_policy(policy=policy, keep_months=5)
    services.delete_policy(policy=policy)
    services.update_settings(default_months=13)
    services.run(now=NOW)

    entries = {
        e.action: e.details for e in AuditEntry.objects.filter(action__startswith="retention.")
    }
    assert entries["retention.policy_create"]["after"]["keep_months"] == 3
    assert entries["retention.policy_update"]["changed"] == {"keep_months": [3, 5]}
    assert entries["retention.policy_delete"]["before"]["event_name"] == "A"
    assert entries["retention.settings"]["changed"] == {"default_months": [25, 13]}
    assert "retention.run" in entries
    assert RetentionRun.objects.count() == 1


def test_a_run_while_another_is_going_records_so_and_removes_nothing(backend):
    _store(backend, at=NOW - timedelta(days=900), received=NOW - timedelta(days=1))
    other = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [services.LOCK_ID])
        done = services.run(now=NOW)
    finally:
        other.close()

    assert done.state == "errors" and "Another retention run" in done.errors["run"]
    assert _resolved() == 1
    assert services.run(now=NOW).removed["events:Page Viewed"] == 1
