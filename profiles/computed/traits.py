"""Computed traits: an aggregation of a property over a profile's events of one name,
in a window, optionally only the events passing property filters; and formulas over other
traits. Recomputed for the profiles a batch touched (set-based: one query per kind of
events read, with a column per definition over them; then the formulas, each after those
it reads), and for every profile by the scheduled pass when a window slides. Scores and
the RFM segment rank every customer, so scores.py computes them for everyone at once."""

from __future__ import annotations

import json
import math

from django.utils import timezone

from .. import attribution
from ..models import ComputedTrait
from ..sql import execute, rows, to_json
from . import filters as event_filters
from . import formulas

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
    # The order's amount as the attribution report reads it: the same orders add up to the
    # same revenue in the RFM grid and in attribution, whichever property a source maps.
    "revenue": f"sum({attribution.revenue_sql('properties', 'src')})",
}
# Only "revenue" reads the event's source (its mapped revenue property).
SOURCE_JOIN = " LEFT JOIN integrations_source src ON src.id = profiles_profileevent.source_id"
QUERY = """
SELECT profile_id, {agg} FROM profiles_profileevent{join}
WHERE profile_id = ANY(%(ids)s) AND profiles_profileevent.name = %(event)s
  AND (%(since)s::timestamptz IS NULL OR "timestamp" >= %(since)s){filters}
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


def _group_key(definition: ComputedTrait) -> tuple:
    return (definition.event_name, definition.window_days, to_json(definition.filters or []))


def values_of_group(definitions, profile_ids: list[int], now) -> dict[str, dict[int, object]]:
    """The values of definitions over the same events (name, window and filters), read
    by one query with a column per definition: {key: {profile id: value}}."""
    first = definitions[0]
    since = now - timezone.timedelta(days=first.window_days) if first.window_days else None
    where, filter_params = event_filters.sql(first.filters or [])
    # Constant fragments only: properties, names and values are parameters.
    columns = ", ".join(
        AGGREGATES[d.aggregation].replace("%(prop)s", f"%(prop{i})s")
        for i, d in enumerate(definitions)
    )
    join = SOURCE_JOIN if any(d.aggregation == "revenue" for d in definitions) else ""
    sql = QUERY.format(agg=columns, filters=where, join=join)
    params = {
        **filter_params,
        **{f"prop{i}": d.property for i, d in enumerate(definitions)},
        "ids": profile_ids,
        "event": first.event_name,
        "since": since,
        "now": now,
    }
    found = {pid: values for pid, *values in rows(sql, params)}
    out = {}
    for i, definition in enumerate(definitions):
        empty = 0 if definition.aggregation == "count" else None
        values = {pid: found[pid][i] if pid in found else empty for pid in profile_ids}
        if definition.aggregation in ("first", "last"):  # jsonb comes back as text
            values = {p: json.loads(v) if isinstance(v, str) else v for p, v in values.items()}
        out[definition.key] = {pid: _jsonable(v) for pid, v in values.items()}
    return out


READ = "SELECT id, traits, computed FROM profiles_profile WHERE id = ANY(%s)"


def in_order(definitions) -> list[ComputedTrait]:
    """The formulas among ``definitions``, each after the formulas it refers to (saving
    refuses cycles; one slipped in is left out rather than looping)."""
    pending, trees = {}, {}
    for definition in definitions:
        if definition.aggregation != "formula":
            continue
        try:
            trees[definition.key] = formulas.parse(definition.formula)
        except formulas.FormulaError:  # saved before a rule tightened: skipped, not fatal
            continue
        pending[definition.key] = definition
    ordered = []
    while pending:
        ready = [
            key for key in pending if not (formulas.references(trees[key]) & set(pending) - {key})
        ]
        if not ready:
            break
        for key in sorted(ready):
            ordered.append((pending.pop(key), trees[key]))
    return ordered


def _evaluate(ordered, stored: dict, fresh: dict) -> dict:
    """The formulas' values for one profile: references read the values just computed,
    then its stored computed traits, then its traits."""
    values = {**stored, **fresh}
    out = {}
    for definition, tree in ordered:
        out[definition.key] = values[definition.key] = formulas.evaluate(tree, values)
    return out


def _as_dict(value) -> dict:
    # jsonb read by a raw query comes back as text on this connection
    return (json.loads(value) if isinstance(value, str) else value) or {}


def recompute(profile_ids: list[int], *, definitions=None) -> bool:
    """Stores the computed traits of these profiles; False when there is nothing to do.
    Scores and RFM segments are left to scores.recompute_scores."""
    if not profile_ids:
        return False
    definitions = list(definitions if definitions is not None else ComputedTrait.objects.all())
    from_events = [d for d in definitions if d.reads_events]
    ordered = in_order(definitions)
    if not from_events and not ordered:
        return False
    now = timezone.now()
    per_profile: dict[int, dict] = {pid: {} for pid in profile_ids}
    groups: dict[tuple, list[ComputedTrait]] = {}
    for definition in from_events:
        groups.setdefault(_group_key(definition), []).append(definition)
    for group in groups.values():
        for key, values in values_of_group(group, profile_ids, now).items():
            for pid, value in values.items():
                per_profile[pid][key] = value
    if ordered:
        for pid, traits_now, computed_now in rows(READ, [profile_ids]):
            stored = {**_as_dict(traits_now), **_as_dict(computed_now)}
            per_profile[pid].update(_evaluate(ordered, stored, per_profile[pid]))
    ids = list(per_profile)
    execute(STORE, [ids, [to_json(per_profile[pid]) for pid in ids]])
    return True


def recompute_formulas(profile_ids: list[int], *, chunk: int = 5000) -> None:
    """Every formula of these profiles (after their scores changed, say)."""
    formula_definitions = list(ComputedTrait.objects.filter(aggregation="formula"))
    for at in range(0, len(profile_ids), chunk):
        recompute(profile_ids[at : at + chunk], definitions=formula_definitions)


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
    # Formulas may read a sliding trait: recomputed with it.
    definitions += list(ComputedTrait.objects.filter(aggregation="formula"))
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
