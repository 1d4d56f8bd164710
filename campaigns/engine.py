"""Executing a journey: one enrollment moves through its campaign's steps until a step
waits (a timer, an event, quiet hours) or the journey ends.

How an enrollment stands at a step:

- ``step_id == ""``: just enrolled; the first step is entered when the runner claims it.
- ``context["_waiting"] == {"step": id, "since": iso, "why": "wait"|"quiet"}``: it waits
  at that step; when the runner claims it (``wake_at`` came) it *wakes*: a wait goes on to
  ``next``, an action held by quiet hours is entered again.
- ``state == waiting_event``: a wait_for_event step. The trigger reader moves it to
  ``next`` when the event comes (``event_arrived``); the runner claims it at ``wake_at``
  (the timeout) and it goes to ``timeout_next``.
- otherwise the step is entered when claimed (after an event came, or a retry).

What entering a step does is its type's ``run`` (campaigns/step_types/); actions never
talk to a destination there: each inserts its Delivery in the runner's transaction, with
the enrollment's move, and campaigns/delivery.py sends it after commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from . import step_types
from .journeys.grammar import by_id
from .models import ActivationSettings, Delivery, Enrollment
from .moves import STOP, WAITING, finish, log

logger = logging.getLogger(__name__)

MAX_HOPS = 50  # steps in one run without waiting: a journey that loops is stopped


# --- moving ---------------------------------------------------------------------------


def advance(enrollment: Enrollment, *, now: datetime, rules: ActivationSettings) -> None:
    """Runs ``enrollment`` (claimed, locked) from where it stands until it waits or ends,
    and saves it. The caller holds the transaction."""
    enrollment.context = dict(enrollment.context or {})
    steps = by_id(enrollment.campaign.steps or [])
    waiting = enrollment.context.get(WAITING) or {}
    if enrollment.step_id and enrollment.step_id not in steps:
        # The journey was edited while this person waited at a step it no longer has.
        why = f"step {enrollment.step_id} was removed from the journey"
        finish(enrollment, Enrollment.State.EXITED, now, why)
        enrollment.save()
        return
    if not steps:
        target = None
    elif enrollment.state == Enrollment.State.WAITING_EVENT:
        step = steps.get(enrollment.step_id) or {}
        log(enrollment, enrollment.step_id, "timed_out", now)
        enrollment.state, enrollment.waiting_for = Enrollment.State.ACTIVE, ""
        target = step.get("timeout_next")
    elif not enrollment.step_id:
        target = enrollment.campaign.steps[0]["id"]
    elif waiting.get("step") == enrollment.step_id and waiting.get("why") == "wait":
        log(enrollment, enrollment.step_id, "passed", now)
        target = (steps.get(enrollment.step_id) or {}).get("next")
    else:
        target = enrollment.step_id  # held by quiet hours, or moved on by an event: enter
    enrollment.context.pop(WAITING, None)
    hops = 0
    while target is not STOP:
        if target is None:
            finish(enrollment, Enrollment.State.COMPLETED, now)
            break
        step = steps.get(target)
        if step is None:
            finish(enrollment, Enrollment.State.FAILED, now, f"the journey has no step {target}")
            break
        hops += 1
        if hops > MAX_HOPS:
            finish(enrollment, Enrollment.State.FAILED, now, "the journey loops without waiting")
            break
        enrollment.step_id = target
        target = enter(enrollment, step, now=now, rules=rules)
    enrollment.save()


def enter(enrollment: Enrollment, step: dict, *, now: datetime, rules: ActivationSettings):
    """Executes ``step`` on arrival (its type's ``run``); returns the next step id, None
    (the end) or STOP."""
    step_type = step_types.of(step)
    if step_type is None:
        finish(enrollment, Enrollment.State.FAILED, now, f"unknown step type {step['type']}")
        return STOP
    return step_type.run(enrollment, step, now=now, rules=rules)


# --- events ---------------------------------------------------------------------------


def event_arrived(enrollment: Enrollment, *, now: datetime) -> None:
    """The awaited event came: on to the step's ``next`` (entered by the runner now)."""
    step = by_id(enrollment.campaign.steps or []).get(enrollment.step_id) or {}
    log(enrollment, enrollment.step_id, "event", now)
    enrollment.context = dict(enrollment.context or {})
    enrollment.context.pop(WAITING, None)
    enrollment.state, enrollment.waiting_for = Enrollment.State.ACTIVE, ""
    target = step.get("next")
    if target is None:
        finish(enrollment, Enrollment.State.COMPLETED, now)
    else:
        enrollment.step_id, enrollment.wake_at = target, now
    enrollment.save()


def waiting_since(enrollment: Enrollment) -> datetime | None:
    since = (enrollment.context or {}).get(WAITING, {}).get("since")
    return datetime.fromisoformat(since) if since else None


def convert(enrollment: Enrollment, *, at: datetime, now: datetime) -> None:
    """The goal was reached at ``at``: the journey ends as converted, and the deliveries
    sent within the conversion window before it count as converting."""
    window = timedelta(days=enrollment.campaign.conversion_window_days or 0)
    if enrollment.state in (Enrollment.State.ACTIVE, Enrollment.State.WAITING_EVENT):
        log(enrollment, enrollment.step_id, "converted", now)
        finish(enrollment, Enrollment.State.CONVERTED, now, "reached the goal")
    else:
        enrollment.state = Enrollment.State.CONVERTED
    enrollment.converted_at = at
    enrollment.save()
    Delivery.objects.filter(
        enrollment=enrollment,
        status__in=[Delivery.Status.SENT, Delivery.Status.DELIVERED],
        sent_at__gte=at - window,
        sent_at__lte=at,
        converted_at__isnull=True,
    ).update(converted_at=at)
