"""Writes of funnels: saving one, and saving the people who dropped off at a step as a
static segment (through segments' own service)."""

from django.db import transaction

from insights.models import Funnel
from insights.periods import Period
from segments import static_lists

from .selectors import Breakdown, Step, dropped_off


@transaction.atomic
def save_funnel(
    *,
    name: str,
    steps: list[Step],
    window_days: int,
    ordered: bool,
    user,
    breakdown: Breakdown | None = None,
) -> Funnel:
    return Funnel.objects.create(
        name=(name or " → ".join(s.event for s in steps)).strip()[:120],
        steps=[s.as_json() for s in steps],
        window_days=window_days,
        ordered=ordered,
        breakdown=breakdown.as_json() if breakdown else None,
        created_by=user,
    )


def save_drop_offs(*, period: Period, question: dict, at: int, name: str, user):
    """The people who did step ``at`` (0-based) but not the next, as a static segment."""
    steps = question["steps"]
    ids = dropped_off(
        period, steps, window_days=question["window_days"], ordered=question["ordered"], at=at
    )
    reason = f"Did {steps[at].describe()} but not {steps[at + 1].describe()}"
    return static_lists.create_static_segment_of(
        name=name or reason,
        profile_ids=ids,
        reason=reason,
        description=f"Dropped off in a funnel, {period.first_day} – {period.last_day}.",
        created_by=user,
    )


@transaction.atomic
def update_funnel(
    *,
    funnel: Funnel,
    name: str,
    steps: list[Step],
    window_days: int,
    ordered: bool,
    breakdown: Breakdown | None = None,
) -> Funnel:
    funnel.name = (name or " → ".join(s.event for s in steps)).strip()[:120]
    funnel.steps = [s.as_json() for s in steps]
    funnel.window_days, funnel.ordered = window_days, ordered
    funnel.breakdown = breakdown.as_json() if breakdown else None
    funnel.save(update_fields=["name", "steps", "window_days", "ordered", "breakdown"])
    return funnel


@transaction.atomic
def delete_funnel(*, funnel: Funnel) -> None:
    funnel.delete()
