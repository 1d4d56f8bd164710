"""Computed traits: an aggregation of a property over a profile's events of one name,
in a window. Recomputed for the profiles a batch touched (set-based, one query per
definition), and for every profile by the scheduled pass when a window slides."""

from __future__ import annotations

import json
import math

from django.utils import timezone

from ..models import ComputedTrait
from ..sql import execute, rows, to_json

# Aggregate expressions; %(prop)s is a bound parameter, never text from the definition.
NUMBER = "CASE WHEN jsonb_typeof(properties->%(prop)s) = 'number' \
THEN (properties->>%(prop)s)::numeric END"
AGGREGATES = {
    "count": "count(*)",
    "sum": f"sum({NUMBER})",
    "avg": f"round(avg({NUMBER}), 2)",
    "min": f"min({NUMBER})",
    "max": f"max({NUMBER})",
    "first": '(array_agg(properties->%(prop)s ORDER BY "timestamp", event_id))[1]',
    "last": '(array_agg(properties->%(prop)s ORDER BY "timestamp" DESC, event_id DESC))[1]',
    "most_frequent": "mode() WITHIN GROUP (ORDER BY properties->>%(prop)s)",
    "days_since_last": 'floor(extract(epoch FROM %(now)s - max("timestamp")) / 86400)::int',
}
QUERY = """
SELECT profile_id, {agg} FROM profiles_profileevent
WHERE profile_id = ANY(%(ids)s) AND name = %(event)s
  AND (%(since)s::timestamptz IS NULL OR "timestamp" >= %(since)s)
GROUP BY profile_id
"""
STORE = """
UPDATE profiles_profile p SET computed = p.computed || v.values
FROM unnest(%s::bigint[], %s::jsonb[]) AS v(id, values) WHERE p.id = v.id
"""


def _jsonable(value):
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    as_float = float(value)  # Decimal
    if not math.isfinite(as_float):
        # A sum past 1.8e308 (a 309-digit "revenue"): no JSON number holds it, and such
        # a value means nothing to a marketer either; the trait is left empty.
        return None
    return int(as_float) if as_float.is_integer() else as_float


def values_for(definition: ComputedTrait, profile_ids: list[int], now) -> dict[int, object]:
    since = (
        now - timezone.timedelta(days=definition.window_days) if definition.window_days else None
    )
    sql = QUERY.format(agg=AGGREGATES[definition.aggregation])
    params = {
        "ids": profile_ids,
        "event": definition.event_name,
        "prop": definition.property,
        "since": since,
        "now": now,
    }
    found = {pid: _jsonable(value) for pid, value in rows(sql, params)}
    if definition.aggregation in ("first", "last"):  # jsonb comes back as text
        found = {pid: json.loads(v) if isinstance(v, str) else v for pid, v in found.items()}
    empty = 0 if definition.aggregation == "count" else None
    return {pid: found.get(pid, empty) for pid in profile_ids}


def recompute(profile_ids: list[int], *, definitions=None) -> bool:
    """Stores the computed traits of these profiles; False when there is nothing to do."""
    if not profile_ids:
        return False
    definitions = list(definitions if definitions is not None else ComputedTrait.objects.all())
    if not definitions:
        return False
    now = timezone.now()
    per_profile: dict[int, dict] = {pid: {} for pid in profile_ids}
    for definition in definitions:
        for pid, value in values_for(definition, profile_ids, now).items():
            per_profile[pid][definition.key] = value
    ids = list(per_profile)
    execute(STORE, [ids, [to_json(per_profile[pid]) for pid in ids]])
    return True


def sliding_definitions():
    """Definitions whose value changes with time alone."""
    return ComputedTrait.objects.filter(window_days__isnull=False) | ComputedTrait.objects.filter(
        aggregation="days_since_last"
    )


def recompute_sliding(*, chunk: int = 5000) -> int:
    """The scheduled pass: every profile that has events, for the sliding definitions."""
    definitions = list(sliding_definitions())
    if not definitions:
        return 0
    names = sorted({d.event_name for d in definitions})
    done, after = 0, 0
    while True:
        ids = [
            r[0]
            for r in rows(
                "SELECT DISTINCT profile_id FROM profiles_profileevent WHERE name = ANY(%s) "
                "AND profile_id > %s ORDER BY profile_id LIMIT %s",
                [names, after, chunk],
            )
        ]
        if not ids:
            return done
        recompute(ids, definitions=definitions)
        done, after = done + len(ids), ids[-1]
