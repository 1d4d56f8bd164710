"""The due-step runner: claims enrollments whose timer came (``wake_at <= now``) with
``SELECT … FOR UPDATE SKIP LOCKED LIMIT n``, so any number of workers run side by side
without taking the same person twice, runs each until it waits (engine.advance), and then
sends the deliveries that are due (new ones and retries). All state is in PostgreSQL:
a killed worker's transaction rolls back and its enrollments are claimed again.

Every function takes ``now`` so that tests (and a replay) control the clock.
"""

from __future__ import annotations

import logging
import time as time_module
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from . import delivery as delivering
from . import engine, services
from .journeys.grammar import by_id
from .models import ActivationSettings, Campaign, Delivery, Enrollment, TriggerCursor
from .step_types import of

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
        # In person order: an e-mail step locks its person until this claim commits
        # (protection.lock_person, for the frequency cap), so two workers whose claims
        # hold one person's enrollments in two journeys deadlocked when each took them in
        # the other's order (the demo's journeys, all started on one year of history).
        for enrollment in sorted(batch, key=lambda e: (e.profile_id, e.wake_at, e.pk)):
            try:
                with transaction.atomic():
                    engine.advance(enrollment, now=now, rules=rules)
            except Exception as error:  # noqa: BLE001 (kept on the enrollment, retried)
                logger.exception("enrollment %s failed at %s", enrollment.pk, enrollment.step_id)
                _failed(enrollment.pk, error, now)
    return [e.pk for e in batch]


# Most timers that fire only pass a timed wait on to another timed wait or to the end
# (no action, no branch: "wait 1 day, then wait until 09:00"). They are moved in one
# statement per claim, no rows in Python: the same rows and StepLog entries
# ``engine.advance`` writes one by one. Where each such wait leads, and when the next
# wait ends, depends only on the journey and ``now``, so it is worked out per campaign
# and passed in as a small table (campaign, from, to, wake_at; to '' = the end).
MOVE_WAITS = """
WITH t AS (
    SELECT * FROM unnest(%(campaigns)s::bigint[], %(sources)s::text[], %(targets)s::text[],
                         %(wakes)s::timestamptz[]) AS t(campaign_id, source, target, wake_at)
), claimed AS (
    SELECT e.id, e.step_id, e.context, t.source, t.target, t.wake_at
    FROM campaigns_enrollment e
    JOIN t ON t.campaign_id = e.campaign_id AND t.source = e.step_id
    WHERE e.state = 'active' AND e.wake_at <= %(now)s AND e.wake_at > %(after)s
    ORDER BY e.wake_at
    LIMIT %(limit)s
    FOR UPDATE OF e SKIP LOCKED
), ready AS (
    -- Checked after the claim, not in it: the planner cannot estimate these and would
    -- sort every due row instead of walking the due index. One that fails (placed at a
    -- wait it has not started) is left to the engine.
    SELECT * FROM claimed
    WHERE context -> '_waiting' ->> 'step' = step_id AND context -> '_waiting' ->> 'why' = 'wait'
), moved AS (
    UPDATE campaigns_enrollment e SET
        step_id = CASE WHEN c.target = '' THEN e.step_id ELSE c.target END,
        state = CASE WHEN c.target = '' THEN 'completed' ELSE e.state END,
        finished_at = CASE WHEN c.target = '' THEN %(now)s ELSE e.finished_at END,
        wake_at = c.wake_at,
        waiting_for = '',
        exit_reason = CASE WHEN c.target = '' THEN '' ELSE e.exit_reason END,
        context = CASE WHEN c.target = '' THEN e.context - '_waiting'
                  ELSE jsonb_set(e.context, '{_waiting}', jsonb_build_object(
                      'step', c.target, 'since', %(since)s::text, 'why', 'wait')) END
    FROM ready c
    WHERE e.id = c.id
    RETURNING e.id, e.campaign_id, e.profile_id, c.source, c.target
), logged AS (
    INSERT INTO campaigns_steplog (enrollment_id, campaign_id, profile_id, step_id, outcome,
                                   at)
    SELECT m.id, m.campaign_id, m.profile_id, l.step_id, l.outcome, %(now)s
    FROM moved m CROSS JOIN LATERAL (VALUES (m.source, 'passed'), (m.target, 'waiting'))
         AS l(step_id, outcome)
    WHERE l.step_id <> ''
)
SELECT count(*) FROM moved
"""


EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
MOVE_LIMIT = 5000  # enrollments per statement: a claim holds its rows' locks until commit


def move_waits(
    *,
    now: datetime | None = None,
    limit: int = MOVE_LIMIT,
    after: datetime | None = None,
    table: dict | None = None,
) -> int:
    """Moves up to ``limit`` due enrollments (due after ``after`` if given) waiting at a
    timed wait that leads to another timed wait or to the end (one statement); returns
    how many it moved."""
    now = now or timezone.now()
    table = table or wait_transitions(now)
    if not table["campaigns"]:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            MOVE_WAITS,
            {
                **table,
                "now": now,
                "since": now.isoformat(),
                "after": after or EARLIEST,
                "limit": limit,
            },
        )
        return cursor.fetchone()[0]


# --- timers at one instant, prepared ahead -------------------------------------------
#
# A time-of-day wait ("until 09:00") or a broadcast followed by a wait makes thousands of
# timers come due at the same microsecond, and moving 100,000 rows takes seconds. So when
# many are due at one instant, a worker starts shortly before it (``stage_lead``), moves
# them in one transaction as of that instant, waits for it and commits: everyone moves
# at the due time, not seconds after. Rows stay locked until then; the runner skips
# them (SKIP LOCKED), an event converting one of these people waits at most the lead.
# If a campaign involved is paused or edited meanwhile, nothing is committed and the
# runner moves them at the due time as usual.
STAGE_MIN = 5000  # timers at one instant worth preparing ahead
STAGE_RATE = 15000  # rows a second one worker moves (conservative; bench: ~30,000)

MASS_TIMER = """
SELECT wake_at, count(*) FROM campaigns_enrollment
WHERE state = 'active' AND wake_at > %(now)s AND wake_at <= %(until)s
GROUP BY wake_at HAVING count(*) >= %(least)s
ORDER BY wake_at LIMIT 1
"""


def next_mass_timer(*, now: datetime, horizon: timedelta) -> tuple[datetime, int] | None:
    """The earliest instant within ``horizon`` at which STAGE_MIN or more timers fire."""
    with connection.cursor() as cursor:
        cursor.execute(MASS_TIMER, {"now": now, "until": now + horizon, "least": STAGE_MIN})
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def stage_lead(count: int) -> timedelta:
    return timedelta(seconds=1 + count / STAGE_RATE)


def stage_waits(*, due_at: datetime, on_busy=None) -> int:
    """Moves the waits that lead to waits due at exactly ``due_at``, committed at
    ``due_at`` (see above); returns how many (0 when rolled back or too late)."""
    if due_at <= timezone.now():
        return 0
    table = wait_transitions(due_at)
    involved = set(table["campaigns"])
    versions = dict(Campaign.objects.filter(pk__in=involved).values_list("pk", "updated_at"))
    moved = 0
    with transaction.atomic():
        while timezone.now() < due_at:
            count = move_waits(now=due_at, after=due_at - timedelta(microseconds=1), table=table)
            moved += count
            if count < MOVE_LIMIT:
                break
            if moved == count and on_busy is not None:
                on_busy()
        if not moved:  # nothing left to prepare (another worker has it): no slot held
            return 0
        time_module.sleep(max(0.0, (due_at - timezone.now()).total_seconds()))
        now_versions = Campaign.objects.filter(pk__in=involved, status=Campaign.Status.ACTIVE)
        if dict(now_versions.values_list("pk", "updated_at")) != versions:
            transaction.set_rollback(True)
            return 0
    return moved


def wait_transitions(now: datetime) -> dict[str, list]:
    """Per active campaign, each plain timer (a step type with ``ends_at``: a timed wait)
    whose next step is a plain timer or the end: (campaign, the timer, the next ('' = the
    end), when the next one ends)."""
    rules = ActivationSettings.load()
    table = {"campaigns": [], "sources": [], "targets": [], "wakes": []}
    for pk, steps in Campaign.objects.filter(status=Campaign.Status.ACTIVE).values_list(
        "pk", "steps"
    ):
        journey = by_id(steps or [])
        for step in journey.values():
            target = step.get("next")
            following = journey.get(target) if target is not None else None
            wake = _timer_end(following, now, rules) if following is not None else None
            if _timer_end(step, now, rules) is None or (target is not None and wake is None):
                continue
            table["campaigns"].append(pk)
            table["sources"].append(step["id"])
            table["targets"].append(target or "")
            table["wakes"].append(wake)
    return table


def _timer_end(step: dict, now: datetime, rules) -> datetime | None:
    kind = of(step)
    return kind.ends_at(step, now, rules) if kind is not None else None


def _failed(enrollment_id: int, error: Exception, now: datetime) -> None:
    enrollment = Enrollment.objects.get(pk=enrollment_id)
    enrollment.attempts += 1
    enrollment.last_error = f"{type(error).__name__}: {error}"[:2000]
    if enrollment.attempts >= MAX_ENROLLMENT_ATTEMPTS:
        enrollment.state, enrollment.finished_at, enrollment.wake_at = (
            Enrollment.State.FAILED,
            now,
            None,
        )
        enrollment.exit_reason = "a step kept failing"
    else:
        enrollment.wake_at = now + timedelta(seconds=30 * 2**enrollment.attempts)
    enrollment.save()


DELIVER_LIMIT = 500  # deliveries per task run


def deliver_due(*, now: datetime | None = None, limit: int = DELIVER_LIMIT, on_busy=None) -> int:
    """Sends due deliveries a reserved batch at a time (see campaigns/delivery.py);
    returns how many it handled (``limit`` or more: more may be due). ``on_busy`` is
    called after each full batch (more is due than one batch), so helpers join early."""
    done = 0
    with delivering.delivery_run():  # one SMTP connection per destination, cached reads
        delivering.expire_interrupted(now=now or timezone.now())
        while done < limit:
            at = now or timezone.now()
            size = min(delivering.BATCH, limit - done)
            batch, token = delivering.reserve(now=at, limit=size)
            if not batch:
                break
            if len(batch) == size and on_busy is not None:
                on_busy()
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


def run(*, now: datetime | None = None, limit: int = 500, rounds: int = 50, on_busy=None) -> dict:
    """What the beat task does: scheduled broadcasts, due steps until none are left (or
    ``rounds`` claims: then ``more`` is True), then due deliveries. ``on_busy`` is called
    once when the first claim is full (more is due than one claim takes)."""
    now = now or timezone.now()
    started = start_scheduled(now=now)
    table = wait_transitions(now)  # the same for every round of this run
    ran, more = 0, False
    for round_number in range(rounds):
        # Waits that lead to waits first, in bulk; then the rest, one by one.
        moved = move_waits(now=now, limit=MOVE_LIMIT, table=table)
        claimed = run_due(now=now, limit=limit) if moved < MOVE_LIMIT else []
        ran += moved + len(claimed)
        if moved < MOVE_LIMIT and len(claimed) < limit:
            break
        if round_number == 0 and on_busy is not None:
            on_busy()
    else:
        more = True
    delivered = deliver_due(now=now)
    finished = finish_broadcasts(now=now)
    return {
        "enrolled": started,
        "ran": ran,
        "delivered": delivered,
        "finished": finished,
        "more": more,
    }
