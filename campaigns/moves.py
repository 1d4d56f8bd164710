"""How an enrollment moves, shared by the engine (campaigns/engine.py) and the step
types' ``run`` (campaigns/step_types/): its step log, waiting at a step, finishing, and
who the person is now. Kept apart from the engine so that step types can use it without
importing the engine that dispatches to them."""

from __future__ import annotations

from datetime import datetime

from profiles import selectors as profile_selectors
from profiles.models import Profile

from .models import Enrollment, StepLog

WAITING = "_waiting"
STOP = object()  # the enrollment waits or has ended: nothing more in this run


def log(enrollment: Enrollment, step_id: str, outcome: str, now: datetime) -> None:
    StepLog.objects.create(
        enrollment=enrollment,
        campaign_id=enrollment.campaign_id,
        profile_id=enrollment.profile_id,
        step_id=step_id or "-",
        outcome=outcome[:40],
        at=now,
    )


def public_context(enrollment: Enrollment) -> dict:
    return public_part(enrollment.context)


def public_part(context: dict | None) -> dict:
    """An enrollment's context without the engine's own keys (``_waiting``…)."""
    return {k: v for k, v in (context or {}).items() if not k.startswith("_")}


def current_profile(profile_id: int) -> Profile | None:
    """The person now: the survivor when the profile was merged since it enrolled."""
    return profile_selectors.surviving_profile(profile_id=profile_id)


def finish(enrollment: Enrollment, state: str, now: datetime, reason: str = "") -> None:
    enrollment.state = state
    enrollment.finished_at = now
    enrollment.wake_at = None
    enrollment.waiting_for = ""
    enrollment.exit_reason = reason[:200]
    enrollment.context.pop(WAITING, None)


def wait(enrollment: Enrollment, step: dict, until: datetime, now: datetime, why: str) -> object:
    enrollment.wake_at = until
    enrollment.context[WAITING] = {"step": step["id"], "since": now.isoformat(), "why": why}
    return STOP
