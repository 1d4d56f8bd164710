"""Writes of retention: the run (``run``; ``start_run`` queues one), and the rules' and
settings' edits, each audited with its before and after (cdp_site.audit).

A run is a list of steps (a month partition, DEFAULT, one event name's resolved events,
the inactive profiles, each operational purge); a step that fails is recorded with its
error and the others go on. Each step commits as it goes (batches, one partition at a
time), so a run stopped half-way keeps what it did and the next picks up the rest; running
twice removes nothing more the second time. One run at a time (an advisory lock).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from cdp_site import audit, outbox
from cdp_site.field_errors import FieldErrors

from ..models import RetentionPolicy, RetentionRun, RetentionSettings
from . import events, operational, people
from .rules import Rules, load, settings_row
from .selectors import plan

logger = logging.getLogger(__name__)

RUN_TASK = "profiles.tasks.run_retention"
LOCK_ID = 0x43445052  # one retention run at a time
POLICY_FIELDS = ("source_id", "event_name", "keep_months", "note")
SETTINGS_FIELDS = ("default_months", "inactive_years", "inactive_action")


class RetentionError(FieldErrors):
    """A rule or setting that cannot be saved as given; each error names its field."""


# The run ------------------------------------------------------------------------------------


@transaction.atomic
def start_run(*, actor=None, dry_run: bool = False) -> RetentionRun:
    """Records a run and queues it (``run`` fills it in)."""
    started = RetentionRun.objects.create(
        started_at=timezone.now(), dry_run=dry_run, started_by=actor
    )
    audit.record(
        action="retention.start", actor=actor, target=started, details={"dry_run": dry_run}
    )
    outbox.enqueue(RUN_TASK, started.pk)
    return started


def run(*, run_id: int | None = None, now: datetime | None = None) -> RetentionRun:
    """Runs retention at ``now`` into the run ``run_id`` (a new one when None); a dry run
    records what it would remove. While another run is going, this one records so and
    does nothing; stopped at the task's time limit, it records that (the next run goes on
    from where it stopped)."""
    now = now or timezone.now()
    record = (
        RetentionRun.objects.get(pk=run_id)
        if run_id
        else RetentionRun.objects.create(started_at=now)
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_ID])
        locked = cursor.fetchone()[0]
    if not locked:
        record.errors["run"] = "Another retention run was going: this one did nothing."
    else:
        try:
            if record.dry_run:
                _dry(record, now)
            else:
                _steps(record, load(), now)
        except SoftTimeLimitExceeded:
            record.errors["run"] = "Stopped at the time limit: the next run goes on."
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])
    record.finished_at = timezone.now()
    record.save()
    audit.record(
        action="retention.run",
        actor=record.started_by,
        target=record,
        details={
            "dry_run": record.dry_run,
            "removed": {k: n for k, n in record.removed.items() if n},
            "partitions": record.partitions_dropped,
            "errors": sorted(record.errors),
        },
    )
    return record


def _step(record: RetentionRun, key: str, work: Callable[[], dict[str, int] | int]) -> None:
    """Runs one step; its counts add to the run's, its error is recorded, and the run is
    saved (a run stopped later still says what it did)."""
    began = time.monotonic()
    try:
        counts = work()
    except SoftTimeLimitExceeded:
        raise  # the whole run stops (run() records it)
    except Exception as error:
        logger.exception("retention step %s failed", key)
        record.errors[key] = f"{type(error).__name__}: {str(error)[:300]}"
        counts = {}
    if isinstance(counts, int):
        counts = {key: counts}
    for name, n in counts.items():
        record.removed[name] = record.removed.get(name, 0) + n
    record.seconds[key] = round(time.monotonic() - began, 3)
    record.save(update_fields=["removed", "errors", "seconds"])


def _steps(record: RetentionRun, rules: Rules, now: datetime) -> None:
    # Whole months first: their events' resolved copies are then deleted without their
    # raw rows, which went with the partition.
    expired = events.expired_months(rules, now)
    for month in expired:
        _step(record, f"partition:{month.month.name}", lambda m=month: _drop(record, m))
    kept = {m.name for m in events.months()} - {e.month.name for e in expired}
    for rows in events.expired_sources(rules, now, kept):
        key = f"raw:{rows.month.name}:source {rows.source}"
        _step(record, key, lambda r=rows: {"raw_by_source": events.delete_source(r)})
    _step(record, "raw_default", lambda: events.sweep_default(rules, now))
    for cut in events.name_cuts(rules, now):
        _step(record, f"events:{cut.name}", lambda c=cut: _name(c))
    row = settings_row()
    key = f"profiles_{row.inactive_action}d"
    _step(record, key, lambda: people.apply(row, now))
    for purge in operational.PURGES:
        _step(record, f"op:{purge.key}", lambda p=purge: p.purge(now))


def _drop(record: RetentionRun, expired: events.Expired) -> dict[str, int]:
    counts = events.drop_month(expired)
    record.partitions_dropped.append(expired.month.name)
    record.save(update_fields=["partitions_dropped"])
    return counts


def _name(cut: events.NameCut) -> dict[str, int]:
    done = events.delete_expired(cut)
    return {f"events:{cut.name}": done["resolved"], "raw_events": done["raw"]}


def _dry(record: RetentionRun, now: datetime) -> None:
    found = plan(now)
    record.partitions_dropped = [p["name"] for p in found.partitions]
    record.removed = {
        "raw_partitions": sum(p["rows"] for p in found.partitions),
        "raw_default": found.default_rows,
        "raw_by_source": sum(r["rows"] for r in found.by_source),
        **{f"events:{n['name']}": n["rows"] for n in found.names},
        "profiles": found.profiles["rows"],
        **{f"op:{o['key']}": o["rows"] or 0 for o in found.operational},
    }


def actor_named(actor_id: int | None):
    return get_user_model().objects.filter(pk=actor_id).first() if actor_id else None


# Rules and settings ---------------------------------------------------------------------------


def _clean(row) -> None:
    """The model's own checks (the months' range), as errors by field."""
    try:
        row.full_clean()
    except ValidationError as error:
        raise RetentionError(
            [
                {"field": "" if name == NON_FIELD_ERRORS else name, "message": message}
                for name, messages in error.message_dict.items()
                for message in messages
            ]
        ) from error


def _policy_state(policy: RetentionPolicy) -> dict:
    return {f: getattr(policy, f) for f in POLICY_FIELDS}


def check_scope(source_id: int | None, event_name: str, *, exclude: int | None = None) -> None:
    if not source_id and not event_name:
        raise RetentionError(
            [
                {
                    "field": "event_name",
                    "message": "Name an event or a source: the rule for "
                    "every event of every source is the default, in the settings.",
                }
            ]
        )
    clash = RetentionPolicy.objects.filter(source_id=source_id, event_name=event_name)
    if clash.exclude(pk=exclude).exists():
        raise RetentionError(
            [{"field": "event_name", "message": "A rule for this source and event exists already."}]
        )


@transaction.atomic
def create_policy(
    *, source=None, event_name: str = "", keep_months: int, note: str = "", actor=None
) -> RetentionPolicy:
    event_name = event_name.strip()
    check_scope(source.pk if source else None, event_name)
    policy = RetentionPolicy(
        source=source, event_name=event_name, keep_months=keep_months, note=note
    )
    _clean(policy)
    policy.save()
    audit.record(
        action="retention.policy_create",
        actor=actor,
        target=policy,
        details={"before": None, "after": _policy_state(policy)},
    )
    return policy


@transaction.atomic
def update_policy(*, policy: RetentionPolicy, actor=None, **changes) -> RetentionPolicy:
    unknown = set(changes) - {"source", "event_name", "keep_months", "note"}
    if unknown:
        raise RetentionError([{"field": f, "message": "Not a field of a rule."} for f in unknown])
    before = _policy_state(policy)
    for name, value in changes.items():
        setattr(policy, name, value.strip() if name == "event_name" else value)
    check_scope(policy.source_id, policy.event_name, exclude=policy.pk)
    _clean(policy)
    policy.save()
    _audit_change("retention.policy_update", policy, before, _policy_state(policy), actor)
    return policy


@transaction.atomic
def delete_policy(*, policy: RetentionPolicy, actor=None) -> None:
    before, pk = _policy_state(policy), policy.pk
    policy.delete()
    audit.record(
        action="retention.policy_delete",
        actor=actor,
        target_type="profiles.retentionpolicy",
        target_id=pk,
        details={"before": before, "after": None},
    )


@transaction.atomic
def update_settings(*, actor=None, **changes) -> RetentionSettings:
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise RetentionError([{"field": f, "message": "Not a retention setting."} for f in unknown])
    row = RetentionSettings.objects.select_for_update().get(pk=settings_row().pk)
    before = {f: getattr(row, f) for f in SETTINGS_FIELDS}
    for name, value in changes.items():
        setattr(row, name, value)
    _clean(row)
    row.save()
    _audit_change(
        "retention.settings", row, before, {f: getattr(row, f) for f in SETTINGS_FIELDS}, actor
    )
    return row


def _audit_change(action: str, target, before: dict, after: dict, actor) -> None:
    changed = audit.changed(before, after)
    audit.record(
        action=action,
        actor=actor,
        target=target,
        details={"before": before, "after": after, "changed": changed},
    )
