"""Reads of tracking plans for the pages and the API.

Others may use: ``plans``, ``plan_sources``, ``violations``, ``event_rows``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from integrations.models import Source

from .models import PlannedEvent, PlanSource, TrackingPlan, Violation


def plans():
    return TrackingPlan.objects.annotate(event_count=Count("events")).prefetch_related(
        "links__source"
    )


def plan_sources(*, plan: TrackingPlan) -> list[PlanSource]:
    return list(plan.links.select_related("source"))


def free_sources():
    """Sources that may follow a plan: not archived (one following another plan moves)."""
    return Source.objects.filter(archived_at=None).order_by("name")


def violations(*, plan: TrackingPlan):
    """The violations counted for the plan's sources, newest first."""
    sources = plan.links.values("source_id")
    return Violation.objects.filter(source_id__in=sources).order_by("-last_seen", "id")


@dataclass
class EventRow:
    """One event on the plan's page: planned (with its schema) or only seen breaking it."""

    name: str
    planned: PlannedEvent | None
    violations: list[Violation] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(v.count for v in self.violations)


def event_rows(*, plan: TrackingPlan) -> tuple[list[EventRow], list[EventRow], EventRow]:
    """(planned events, unplanned events seen, identify traits): each with its
    violations, which carry ``source_name``."""
    following = Source.objects.filter(pk__in=plan.links.values("source_id"))
    names = dict(following.values_list("pk", "name"))
    planned = {e.name: EventRow(e.name, e) for e in plan.events.all()}
    unplanned: dict[str, EventRow] = {}
    traits = EventRow("Identify traits", None)
    for violation in violations(plan=plan).order_by("event", "kind", "source_id"):
        violation.source_name = names.get(violation.source_id, f"source {violation.source_id}")
        if violation.message_type == "identify":
            traits.violations.append(violation)
        elif violation.event in planned and violation.kind != "unplanned_event":
            planned[violation.event].violations.append(violation)
        else:
            row = unplanned.setdefault(violation.event, EventRow(violation.event, None))
            row.violations.append(violation)
    return list(planned.values()), sorted(unplanned.values(), key=lambda r: r.name), traits
