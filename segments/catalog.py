"""What the builder offers in its pickers: names and values actually seen in the data.

Event names come from a loose index scan of the (name, timestamp, profile) index (one
index probe per distinct name, however many events there are); property keys from the
most recent events of one name; trait keys from TraitKey (type and an example value).
"""

from __future__ import annotations

import contextlib
import json

from django.db import connection

from integrations.models import Source
from profiles import attribution
from profiles.models import ComputedTrait, ConsentPurpose, IdentifierKind, ProfileEvent, TraitKey
from profiles.models.stage import Stage

from .conditions.stage import STAGES
from .models import Segment

MAX_EVENT_NAMES = 500
RECENT_EVENTS = 500


def _example(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def event_names(limit: int = MAX_EVENT_NAMES) -> list[str]:
    """Distinct event names, alphabetically: a recursive CTE that skips from one name to
    the next through the index instead of reading every event."""
    table = connection.ops.quote_name(ProfileEvent._meta.db_table)
    # The table name is the model's, quoted; every value is a parameter.
    sql = f"""
        WITH RECURSIVE names(name) AS (
            (SELECT name FROM {table} WHERE name > '' ORDER BY name LIMIT 1)
            UNION ALL
            SELECT (SELECT e.name FROM {table} e WHERE e.name > names.name
                    ORDER BY e.name LIMIT 1)
            FROM names WHERE names.name IS NOT NULL
        )
        SELECT name FROM names WHERE name IS NOT NULL LIMIT %s
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


def property_keys(event_name: str, *, recent: int = RECENT_EVENTS) -> list[dict]:
    """The property keys of the most recent ``recent`` events named ``event_name``, the
    most common first, each with its JSON type and an example value."""
    if not event_name:
        return []
    table = connection.ops.quote_name(ProfileEvent._meta.db_table)
    # The table name is the model's, quoted; every value is a parameter.
    sql = f"""
        WITH recent AS (
            SELECT properties FROM {table} WHERE name = %s
            ORDER BY timestamp DESC LIMIT %s
        )
        SELECT k, jsonb_typeof(recent.properties -> k) AS t, count(*) AS n,
               (array_agg(recent.properties -> k))[1] AS example
        FROM recent, jsonb_object_keys(
            CASE WHEN jsonb_typeof(recent.properties) = 'object'
                 THEN recent.properties ELSE '{{}}'::jsonb END) AS k
        GROUP BY k, t
        ORDER BY n DESC, k
        LIMIT 200
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [event_name, recent])
        rows = cursor.fetchall()
    seen, keys = set(), []
    for key, kind, _count, example in rows:
        if key in seen:  # the same key with a rarer type
            continue
        seen.add(key)
        if isinstance(example, str):
            with contextlib.suppress(ValueError):
                example = json.loads(example)
        keys.append({"key": key, "type": _json_type(kind), "example": _example(example)})
    return keys


def _json_type(kind: str | None) -> str:
    if kind == "string":
        return "text"
    return {"array": "list", None: "text"}.get(kind, kind)


def trait_keys() -> list[dict]:
    return [
        {"key": t.key, "type": t.type, "example": _example(t.example)}
        for t in TraitKey.objects.order_by("key")
    ]


def computed_keys() -> list[dict]:
    defined = [
        {"key": c.key, "label": c.label, "type": _computed_type(c.aggregation)}
        for c in ComputedTrait.objects.order_by("label")
    ]
    return defined + touch_keys()


def touch_keys() -> list[dict]:
    """The first and last touch every profile keeps (profiles.attribution)."""
    return [
        {
            "key": key,
            "label": attribution.KEY_LABELS[key],
            "type": "date" if key.endswith("_at") else "text",
        }
        for key in attribution.KEYS
    ]


def _computed_type(aggregation: str) -> str:
    text = {"first", "last", "most_frequent", "rfm_segment"}
    return "text" if aggregation in text else "number"


def stages() -> list[tuple[str, str]]:
    labels = dict(Stage.choices)
    order = [s.value for s in Stage]
    return [(s, labels.get(s, s.title())) for s in order if s in STAGES]


def consent_purposes() -> list[tuple[str, str]]:
    return list(ConsentPurpose.objects.order_by("id").values_list("slug", "label"))


def identifier_kinds() -> list[tuple[str, str]]:
    return list(IdentifierKind.objects.order_by("-priority", "name").values_list("name", "label"))


def sources() -> list[dict]:
    return [
        {"id": s.pk, "name": s.name, "party": s.get_party_display()}
        for s in Source.objects.order_by("name")
    ]


def segments(*, exclude: int | None = None) -> list[tuple[int, str]]:
    found = Segment.objects.order_by("name")
    if exclude:
        found = found.exclude(pk=exclude)
    return list(found.values_list("pk", "name"))


def for_builder(*, segment_id: int | None = None) -> dict:
    """Everything the builder's pickers need, read once per render (property keys are
    asked for when a property input gets focus: they depend on the event typed)."""
    return {
        "event_names": event_names(),
        "trait_keys": trait_keys(),
        "computed_keys": computed_keys(),
        "stages": stages(),
        "consent_purposes": consent_purposes(),
        "identifier_kinds": identifier_kinds(),
        "sources": sources(),
        "segments": segments(exclude=segment_id),
    }
