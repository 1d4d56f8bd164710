"""The due-step runner: claims enrollments whose timer came (``wake_at <= now``) with
``SELECT … FOR UPDATE SKIP LOCKED LIMIT n``, so any number of workers run side by side
without taking the same person twice, runs each until it waits (engine.advance), and then
sends the deliveries that are due (new ones and retries). All state is in PostgreSQL:
a killed worker's transaction rolls back and its enrollments are claimed again.

Every function takes ``now`` so that tests (and a replay) control the clock.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from . import delivery as delivering
from . import engine, protection, services
from .models import ActivationSettings, Campaign, Delivery, Enrollment, TriggerCursor
from .steps import TIME_OF_DAY, by_id

logger = logging.getLogger(__name__)

MAX_ENROLLMENT_ATTEMPTS = 5


def due(now: datetime):
    return Enrollment.objects.filter(
        Q(state=Enrollment.State.ACTIVE) | Q(state=Enrollment.State.WAITING_EVENT),
        wake_at__lte=now,
        campaign__status=Campaign.Status.ACTIVE,
    )


def run_due(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """One claim of up to ``limit`` due enrollments, each run until it waits; returns the
    ids it ran. Each enrollment in a savepoint: one failing never undoes the others.

    Those that only pass a timed wait on to another timed wait or to the end (no action,
    no branch) are moved together: one UPDATE and one StepLog insert for all of them,
    the same rows and logs ``engine.advance`` writes one by one."""
    now = now or timezone.now()
    rules = ActivationSettings.load()
    with transaction.atomic():
        batch = list(
            due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("campaign")
            .order_by("wake_at", "id")[:limit]
        )
        simple, rest, steps = [], [], {}
        for enrollment in batch:
            (simple if _wait_to_wait(enrollment, now, rules, steps) else rest).append(enrollment)
        _save_waits(simple, now)
        for enrollment in rest:
            try:
                with transaction.atomic():
                    engine.advance(enrollment, now=now, rules=rules)
            except Exception as error:  # noqa: BLE001 (kept on the enrollment, retried)
                logger.exception("enrollment %s failed at %s", enrollment.pk, enrollment.step_id)
                _failed(enrollment.pk, error, now)
    return [e.pk for e in batch]


def _wait_to_wait(enrollment: Enrollment, now: datetime, rules, cache: dict) -> bool:
    """Moves ``enrollment`` in memory when it wakes at a timed wait whose ``next`` is
    another wait or the end (what ``engine.advance`` would do); False (untouched)
    otherwise. Sets ``_logs`` to the StepLog rows to write."""
    if enrollment.state != Enrollment.State.ACTIVE or not enrollment.step_id:
        return False
    waiting = (enrollment.context or {}).get(engine.WAITING) or {}
    if waiting.get("step") != enrollment.step_id or waiting.get("why") != "wait":
        return False
    steps = _steps(enrollment.campaign, cache)
    if enrollment.step_id not in steps:
        return False
    target = steps[enrollment.step_id].get("next")
    step = steps.get(target) if target is not None else None
    if target is not None and (step is None or step.get("type") != "wait"):
        return False
    context = dict(enrollment.context)
    context.pop(engine.WAITING, None)
    enrollment.context = context
    logs = [(enrollment.step_id, "passed")]
    if step is None:
        engine.finish(enrollment, Enrollment.State.COMPLETED, now)
    else:
        enrollment.step_id = target
        # engine.enter's wait, without its StepLog insert (written with the batch's)
        if "until" in step and TIME_OF_DAY.match(str(step["until"])):
            hour, minute = map(int, step["until"].split(":"))
            until = protection.next_time_of_day(
                now, datetime.min.time().replace(hour=hour, minute=minute), protection.zone(rules)
            )
        else:
            until = now + timedelta(minutes=int(step.get("minutes") or 0))
        enrollment.wake_at = until
        context[engine.WAITING] = {"step": target, "since": now.isoformat(), "why": "wait"}
        logs.append((target, "waiting"))
    enrollment._logs = logs
    return True


def _steps(campaign: Campaign, cache: dict) -> dict:
    key = (campaign.pk, campaign.updated_at)
    if key not in cache:
        cache[key] = by_id(campaign.steps or [])
    return cache[key]


SAVE_WAITS = """
UPDATE campaigns_enrollment e SET state = v.state, step_id = v.step_id, wake_at = v.wake_at,
    context = v.context::jsonb, finished_at = v.finished_at, waiting_for = '',
    exit_reason = v.exit_reason
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::text[],
            %s::timestamptz[], %s::text[])
     AS v(id, state, step_id, wake_at, context, finished_at, exit_reason)
WHERE e.id = v.id
"""
INSERT_LOGS = """
INSERT INTO campaigns_steplog (enrollment_id, campaign_id, profile_id, step_id, outcome, at)
SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::text[],
                     %s::timestamptz[])
"""


def _save_waits(enrollments: list[Enrollment], now: datetime) -> None:
    if not enrollments:
        return
    columns = [[], [], [], [], [], [], []]
    logs = [[], [], [], [], [], []]
    for e in enrollments:
        for column, value in zip(columns, (e.pk, e.state, e.step_id, e.wake_at,
                                           json.dumps(e.context), e.finished_at,
                                           e.exit_reason), strict=True):  # fmt: skip
            column.append(value)
        for step_id, outcome in e._logs:
            for column, value in zip(logs, (e.pk, e.campaign_id, e.profile_id, step_id or "-",
                                            outcome[:40], now), strict=True):  # fmt: skip
                column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(SAVE_WAITS, columns)
        cursor.execute(INSERT_LOGS, logs)


def _failed(enrollment_id: int, error: Exception, now: datetime) -> None:
    enrollment = Enrollment.objects.get(pk=enrollment_id)
    enrollment.attempts += 1
    enrollment.last_error = f"{type(error).__name__}: {error}"[:2000]
    if enrollment.attempts >= MAX_ENROLLMENT_ATTEMPTS:
        enrollment.state, enrollment.finished_at, enrollment.wake_at = (
            Enrollment.State.FAILED, now, None)  # fmt: skip
        enrollment.exit_reason = "a step kept failing"
    else:
        enrollment.wake_at = now + timedelta(seconds=30 * 2**enrollment.attempts)
    enrollment.save()


DELIVER_LIMIT = 500  # deliveries per task run


def deliver_due(*, now: datetime | None = None, limit: int = DELIVER_LIMIT) -> int:
    """Sends due deliveries a reserved batch at a time (see campaigns/delivery.py);
    returns how many it handled (``limit`` or more: more may be due)."""
    done = 0
    with delivering.delivery_run():  # one SMTP connection per destination, cached reads
        delivering.expire_interrupted(now=now or timezone.now())
        while done < limit:
            at = now or timezone.now()
            batch, token = delivering.reserve(now=at, limit=min(delivering.BATCH, limit - done))
            if not batch:
                break
            delivering.deliver_batch(batch, token=token, now=at)
            done += len(batch)
    return done


def next_delivery_at() -> datetime | None:
    """When the earliest pending delivery (a retry, a reservation that ended) is due."""
    return (
        Delivery.objects.filter(status__in=delivering.DUE_STATUSES, next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def start_scheduled(*, now: datetime | None = None) -> int:
    """Broadcasts whose send time came: enrol their segment's members (once)."""
    now = now or timezone.now()
    total = 0
    started = TriggerCursor.objects.filter(name__startswith="broadcast:").values_list(
        "name", flat=True
    )
    for campaign in Campaign.objects.filter(
        kind=Campaign.Kind.BROADCAST, status=Campaign.Status.ACTIVE, scheduled_at__lte=now
    ).exclude(pk__in=[int(n.split(":")[1]) for n in started]):
        total += services.enroll_broadcast(campaign=campaign, now=now)
    return total


def finish_broadcasts(*, now: datetime | None = None) -> int:
    """A broadcast whose members all went through ends (status finished)."""
    now = now or timezone.now()
    started = [
        int(n.split(":")[1])
        for n in TriggerCursor.objects.filter(name__startswith="broadcast:").values_list(
            "name", flat=True
        )
    ]
    return (
        Campaign.objects.filter(
            pk__in=started, kind=Campaign.Kind.BROADCAST, status=Campaign.Status.ACTIVE
        )
        .exclude(enrollments__state__in=services.OPEN)
        .update(status=Campaign.Status.FINISHED, updated_at=now)
    )


def next_wake_at() -> datetime | None:
    """The earliest timer of an enrollment the runner would claim (None: none)."""
    return (
        Enrollment.objects.filter(
            Q(state=Enrollment.State.ACTIVE) | Q(state=Enrollment.State.WAITING_EVENT),
            wake_at__isnull=False,
            campaign__status=Campaign.Status.ACTIVE,
        )
        .order_by("wake_at")
        .values_list("wake_at", flat=True)
        .first()
    )


def run(*, now: datetime | None = None, limit: int = 500, rounds: int = 50,
        on_busy=None) -> dict:  # fmt: skip
    """What the beat task does: scheduled broadcasts, due steps until none are left (or
    ``rounds`` claims: then ``more`` is True), then due deliveries. ``on_busy`` is called
    once when the first claim is full (more is due than one claim takes)."""
    now = now or timezone.now()
    started = start_scheduled(now=now)
    ran, more = 0, False
    for round_number in range(rounds):
        claimed = run_due(now=now, limit=limit)
        ran += len(claimed)
        if len(claimed) < limit:
            break
        if round_number == 0 and on_busy is not None:
            on_busy()
    else:
        more = True
    delivered = deliver_due(now=now)
    finished = finish_broadcasts(now=now)
    return {"enrolled": started, "ran": ran, "delivered": delivered, "finished": finished,
            "more": more}  # fmt: skip
