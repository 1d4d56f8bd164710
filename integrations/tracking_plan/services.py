"""Writes of tracking plans: plans, their events and traits, the sources that follow them,
and the violations the door counts.

Others may use: ``create_plan``, ``update_plan``, ``delete_plan``, ``save_event``,
``delete_event``, ``set_traits``, ``follow``, ``unfollow``, ``count_violations``.

Every change bumps the plan's version and clears the door's cache in this process (at
once and after the commit), so the next ingest here checks against the new plan.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from cdp_site.pgarrays import adapt

from . import door
from .models import Mode, PlannedEvent, PlanSource, TrackingPlan
from .schemas import TRAIT_TYPES, check_schema

EXAMPLES = 5  # kept per source, event and kind: the newest


class TraitsInvalid(ValueError):
    """Traits must map names to one of TRAIT_TYPES."""


def check_traits(traits) -> dict[str, str]:
    """The traits cleaned (names trimmed), or TraitsInvalid saying which is wrong."""
    if not isinstance(traits, dict):
        raise TraitsInvalid('Traits are an object of name to type, e.g. {"email": "string"}.')
    clean = {}
    for name, kind in traits.items():
        name = str(name).strip()
        if not name:
            raise TraitsInvalid("A trait needs a name.")
        if kind not in TRAIT_TYPES:
            raise TraitsInvalid(f"{name}: the type must be one of {', '.join(TRAIT_TYPES)}.")
        clean[name] = kind
    return clean


def _changed(plan: TrackingPlan) -> None:
    TrackingPlan.objects.filter(pk=plan.pk).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    plan.refresh_from_db(fields=["version", "updated_at"])
    door.clear_cache()
    transaction.on_commit(door.clear_cache)


def _replace_events(plan: TrackingPlan, events: list[dict]) -> None:
    for event in events:
        check_schema(event.get("schema", {}))
    plan.events.all().delete()
    PlannedEvent.objects.bulk_create(
        PlannedEvent(
            plan=plan,
            name=e["name"].strip(),
            description=e.get("description", ""),
            schema=e.get("schema", {}),
        )
        for e in events
    )


def _replace_sources(plan: TrackingPlan, sources: list[tuple]) -> None:
    plan.links.exclude(source__in=[source for source, _ in sources]).delete()
    for source, mode in sources:
        PlanSource.objects.update_or_create(source=source, defaults={"plan": plan, "mode": mode})


@transaction.atomic
def create_plan(
    *,
    name: str,
    description: str = "",
    traits: dict | None = None,
    events: list[dict] | None = None,
    sources: list[tuple] | None = None,
) -> TrackingPlan:
    """A plan with its events ({name, schema, description}), traits ({name: type}) and the
    sources that follow it ([(source, mode)]; a source follows one plan: it moves here)."""
    plan = TrackingPlan.objects.create(
        name=name.strip(), description=description, traits=check_traits(traits or {})
    )
    _replace_events(plan, events or [])
    _replace_sources(plan, sources or [])
    _changed(plan)
    return plan


@transaction.atomic
def update_plan(
    *,
    plan: TrackingPlan,
    name: str | None = None,
    description: str | None = None,
    traits: dict | None = None,
    events: list[dict] | None = None,
    sources: list[tuple] | None = None,
) -> TrackingPlan:
    """Changes what is given; ``events`` and ``sources`` replace the plan's own."""
    if name is not None:
        plan.name = name.strip()
    if description is not None:
        plan.description = description
    if traits is not None:
        plan.traits = check_traits(traits)
    plan.save()
    if events is not None:
        _replace_events(plan, events)
    if sources is not None:
        _replace_sources(plan, sources)
    _changed(plan)
    return plan


@transaction.atomic
def delete_plan(*, plan: TrackingPlan) -> None:
    """The plan goes; its sources follow none (their violation counts stay)."""
    plan.delete()
    door.clear_cache()
    transaction.on_commit(door.clear_cache)


@transaction.atomic
def save_event(
    *,
    plan: TrackingPlan,
    name: str,
    schema: dict,
    description: str = "",
    event: PlannedEvent | None = None,
) -> PlannedEvent:
    """Adds an event to the plan, or changes ``event``; SchemaInvalid for a bad schema."""
    check_schema(schema)
    event = event or PlannedEvent(plan=plan)
    event.name, event.schema, event.description = name.strip(), schema, description
    event.save()
    _changed(plan)
    return event


@transaction.atomic
def delete_event(*, event: PlannedEvent) -> None:
    plan = event.plan
    event.delete()
    _changed(plan)


@transaction.atomic
def set_traits(*, plan: TrackingPlan, traits: dict) -> TrackingPlan:
    plan.traits = check_traits(traits)
    plan.save(update_fields=["traits", "updated_at"])
    _changed(plan)
    return plan


@transaction.atomic
def follow(*, plan: TrackingPlan, source, mode: str = Mode.FLAG) -> PlanSource:
    """The source follows this plan (leaving any other) with this mode."""
    link, _ = PlanSource.objects.update_or_create(
        source=source, defaults={"plan": plan, "mode": Mode(mode)}
    )
    _changed(plan)
    return link


@transaction.atomic
def unfollow(*, plan: TrackingPlan, source) -> None:
    plan.links.filter(source=source).delete()
    _changed(plan)


# The door's counts -----------------------------------------------------------------------

COUNT = """
INSERT INTO integrations_violation AS v
    (source_id, message_type, event, kind, count, first_seen, last_seen, examples)
SELECT %s, t, e, k, c, %s, %s, x
FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::jsonb[]) AS u(t, e, k, c, x)
ON CONFLICT (source_id, message_type, event, kind) DO UPDATE SET
    count = v.count + EXCLUDED.count,
    last_seen = EXCLUDED.last_seen,
    examples = (
        SELECT coalesce(jsonb_agg(kept.x ORDER BY kept.n), '[]'::jsonb)
        FROM (
            SELECT a.x, a.n
            FROM jsonb_array_elements(EXCLUDED.examples || v.examples) WITH ORDINALITY AS a(x, n)
            ORDER BY a.n LIMIT %s
        ) AS kept
    )
"""


def count_violations(*, source_id: int, violations: list, at: datetime) -> None:
    """Adds the door's findings (door.Found) to the counts, one statement, keeping the
    newest EXAMPLES of each (message id, JSON pointer, what was wrong). The keys go in
    sorted, so concurrent batches lock the counters' rows in one order (no deadlock)."""
    if not violations:
        return
    counts: dict[tuple, int] = defaultdict(int)
    examples: dict[tuple, list] = defaultdict(list)
    stamp = at.isoformat()
    for found in reversed(violations):  # the last of the batch is the newest
        key = (found.message_type, found.event, found.kind)
        counts[key] += 1
        if len(examples[key]) < EXAMPLES:
            example = {"message_id": found.message_id, "path": found.path, "at": stamp}
            examples[key].append(example | {"detail": found.detail})
    keys = sorted(counts)
    columns = [
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [counts[k] for k in keys],
        [json.dumps(examples[k]) for k in keys],
    ]
    with connection.cursor() as cursor:
        cursor.execute(COUNT, adapt([source_id, at, at, *columns, EXAMPLES]))
