"""A plan started from what a source already sent: its most recent raw events (a bounded
sample of integrations' own events table), each track event's properties and each
identify call's traits typed from the values seen.

Others may use: ``infer_plan``, ``infer``.

The schemas list the properties seen with their types (integer and number seen together
make number; several types make a list of them), nested objects and list items to a few
levels; nothing is required. The admin tightens them in the browser.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import connection, transaction

from .models import Mode, TrackingPlan
from .schemas import json_type
from .services import create_plan

SAMPLE = 10_000  # the newest events read
MAX_DEPTH = 3  # nested objects and lists typed this deep; below, the type alone
MAX_PROPERTIES = 200  # per object: a property bag wider than this is no plan
RECENT = """
SELECT type, event, payload -> 'properties', payload -> 'traits'
FROM integrations_event
WHERE source_id = %s AND type IN ('track', 'identify')
ORDER BY received_at DESC
LIMIT %s
"""


@dataclass(frozen=True)
class Inferred:
    events: list[dict]  # [{name, schema, description}]
    traits: dict[str, str]
    sampled: int


def _loaded(value):
    return json.loads(value) if isinstance(value, str) else value


def _type_of(values: list) -> str | list[str]:
    types = {json_type(v) for v in values}
    if "integer" in types and "number" in types:
        types.discard("integer")
    return types.pop() if len(types) == 1 else sorted(types)


def schema_of(values: list, depth: int = 1) -> dict:
    """The schema of the values seen at one place."""
    schema: dict = {"type": _type_of(values)}
    if depth > MAX_DEPTH:
        return schema
    objects = [v for v in values if isinstance(v, dict)]
    if objects:
        schema["properties"] = _properties(objects, depth + 1)
    items = [item for v in values if isinstance(v, list) for item in v]
    if items:
        schema["items"] = schema_of(items, depth + 1)
    return schema


def _properties(objects: list[dict], depth: int) -> dict:
    seen: dict[str, list] = defaultdict(list)
    for obj in objects:
        for key, value in obj.items():
            if key in seen or len(seen) < MAX_PROPERTIES:
                seen[key].append(value)
    return {key: schema_of(values, depth) for key, values in sorted(seen.items())}


def _trait_type(values: list) -> str:
    kinds = Counter(json_type(v) for v in values if v is not None)
    if "integer" in kinds and "number" in kinds:
        kinds["number"] += kinds.pop("integer")
    return kinds.most_common(1)[0][0] if kinds else "string"


def infer(*, source_id: int, sample: int = SAMPLE) -> Inferred:
    """Events and traits as the source's newest ``sample`` events show them."""
    properties: dict[str, list] = defaultdict(list)
    traits: dict[str, list] = defaultdict(list)
    read = 0
    with connection.cursor() as cursor:
        cursor.execute(RECENT, [source_id, sample])
        for kind, event, props, sent_traits in cursor:
            read += 1
            if kind == "track" and event:
                props = _loaded(props)
                properties[event].append(props if isinstance(props, dict) else {})
            elif kind == "identify":
                for name, value in (_loaded(sent_traits) or {}).items():
                    traits[name].append(value)
    events = [
        {
            "name": name,
            "description": f"Inferred from {len(samples):,} events.",
            "schema": {"type": "object", "properties": _properties(samples, 2)},
        }
        for name, samples in sorted(properties.items())
    ]
    typed = {name: _trait_type(values) for name, values in sorted(traits.items())}
    return Inferred(events=events, traits=typed, sampled=read)


@transaction.atomic
def infer_plan(*, source, name: str, sample: int = SAMPLE) -> TrackingPlan:
    """A new plan from the source's recent events, which the source follows in "accept
    and flag" mode (counting only, until the admin chooses otherwise)."""
    found = infer(source_id=source.pk, sample=sample)
    return create_plan(
        name=name,
        description=f"Started from the newest {found.sampled:,} events of {source.name}.",
        traits=found.traits,
        events=found.events,
        sources=[(source, Mode.FLAG)],
    )
