"""The due-step runner: claims enrollments whose timer came (``wake_at <= now``) with
``SELECT … FOR UPDATE SKIP LOCKED LIMIT n``, so any number of workers run side by side
without taking the same person twice, runs each until it waits (engine.advance), and then
sends the deliveries that are due (new ones and retries). All state is in PostgreSQL:
a killed worker's transaction rolls back and its enrollments are claimed again.

Every function takes ``now`` so that tests (and a replay) control the clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import engine, services
from .models import ActivationSettings, Campaign, Enrollment, TriggerCursor

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
    ids it ran. Each enrollment in a savepoint: one failing never undoes the others."""
    now = now or timezone.now()
    rules = ActivationSettings.load()
    with transaction.atomic():
        batch = list(
            due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("campaign")
            .order_by("wake_at", "id")[:limit]
        )
        for enrollment in batch:
            try:
                with transaction.atomic():
                    engine.advance(enrollment, now=now, rules=rules)
            except Exception as error:  # noqa: BLE001 (kept on the enrollment, retried)
                logger.exception("enrollment %s failed at %s", enrollment.pk, enrollment.step_id)
                _failed(enrollment.pk, error, now)
    return [e.pk for e in batch]


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


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Sends due deliveries one at a time (each claimed and committed as being sent
    before it goes out); returns how many it handled."""
    now = now or timezone.now()
    done = 0
    while done < limit:
        delivery = engine.claim_delivery(now=now)
        if delivery is None:
            break
        engine.deliver(delivery, now=now)
        done += 1
    return done


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


def run(*, now: datetime | None = None, limit: int = 100, rounds: int = 50) -> dict:
    """What the beat task does: scheduled broadcasts, due steps until none are left (or
    ``rounds`` claims), then due deliveries."""
    now = now or timezone.now()
    started = start_scheduled(now=now)
    ran = 0
    for _ in range(rounds):
        claimed = run_due(now=now, limit=limit)
        ran += len(claimed)
        if len(claimed) < limit:
            break
    delivered = deliver_due(now=now)
    finished = finish_broadcasts(now=now)
    return {"enrolled": started, "ran": ran, "delivered": delivered, "finished": finished}
