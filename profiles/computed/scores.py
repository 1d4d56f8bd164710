"""Quintile scores and the RFM segment: values relative to every customer, so computed for
all profiles at once (by the scheduled pass and on demand), never per batch.

A score of a computed trait is 1 + floor(5 x its percent rank) (at most 5), ranking the
profiles whose value is a number (a count of zero, meaning no such events, is left out)
from worst to best: the worst value scores 1, a value with at most a fifth of the others
below it scores 1, at most two fifths 2, and so on; equal values score the same (the
lowest rank of their tie), so with many one-order customers the frequency scores 1 and
then jumps. Profiles left out have no score.

The RFM segment comes from the recency (R) and frequency (F) scores by the common
10-segment R x F map (R first): R 1-2: F 1-2 Hibernating, F 3-4 At risk, F 5 Can't lose
them; R 3: F 1-2 About to sleep, F 3 Need attention, F 4-5 Loyal customers; R 4: F 1
Promising, F 2-3 Potential loyalists, F 4-5 Loyal customers; R 5: F 1 New customers,
F 2-3 Potential loyalists, F 4-5 Champions.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from cdp_site import outbox

from ..changes import ChangeSet
from ..models import ComputedTrait
from ..sql import rows

logger = logging.getLogger(__name__)
TASK = "profiles.tasks.recompute_scores"
COMPUTED_AT = "profiles:scores:computed-at"  # when the last pass committed

RECENCY, FREQUENCY, MONETARY, SEGMENT = (
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_segment",
)


def _segment_of(r: int, f: int) -> str:
    if r <= 2:
        return "Hibernating" if f <= 2 else "At risk" if f <= 4 else "Can't lose them"
    if r == 3:
        return "About to sleep" if f <= 2 else "Need attention" if f == 3 else "Loyal customers"
    if f == 1:
        return "Promising" if r == 4 else "New customers"
    if f <= 3:
        return "Potential loyalists"
    return "Loyal customers" if r == 4 else "Champions"


SEGMENTS = {(r, f): _segment_of(r, f) for r in range(1, 6) for f in range(1, 6)}
SEGMENT_ORDER = [
    "Champions",
    "Loyal customers",
    "Potential loyalists",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
]

# One statement ranks every score definition and names every segment in one scan of the
# profiles and one write per changed customer. Its text is built from the constant
# fragments below, numbered per definition; every key and value is a parameter.
VALUE = """CASE WHEN jsonb_typeof(computed->%(of{i})s) = 'number'
    AND NOT (%(count{i})s AND (computed->>%(of{i})s)::numeric = 0)
    THEN (computed->>%(of{i})s)::numeric END AS v{i}"""  # a count of 0: no such events
RANK = """CASE WHEN v{i} IS NOT NULL THEN least(5, 1 + floor(5 * percent_rank() OVER (
    PARTITION BY v{i} IS NULL ORDER BY v{i} {direction})))::int END AS s{i}"""
STATEMENT = """
WITH valued AS (
    SELECT id, computed, {values} FROM profiles_profile WHERE merged_into_id IS NULL
), ranked AS (
    SELECT id, {ranks} FROM valued WHERE {kept} OR computed ?| %(keys)s::text[]
), fresh AS (
    SELECT r.id, jsonb_strip_nulls(jsonb_build_object({pairs})) AS new FROM ranked r
    LEFT JOIN unnest(%(map_r)s::int[], %(map_f)s::int[], %(map_name)s::text[])
        AS m(r, f, name) ON m.r = {r} AND m.f = {f}
)
UPDATE profiles_profile p SET computed = (p.computed - %(keys)s::text[]) || n.new
FROM fresh n
WHERE p.id = n.id AND (p.computed - %(keys)s::text[]) || n.new IS DISTINCT FROM p.computed
RETURNING p.id
"""


def _statement(definitions: list[ComputedTrait], bases: dict) -> tuple[str, dict]:
    scored = [d for d in definitions if d.aggregation == "score"]
    named = [d for d in definitions if d.aggregation == "rfm_segment"]
    cells = sorted(SEGMENTS.items())
    params = {
        "keys": [d.key for d in definitions],
        "map_r": [r for (r, _), _ in cells],
        "map_f": [f for (_, f), _ in cells],
        "map_name": [name for _, name in cells],
    }
    values, ranks, pairs = [], [], []
    for i, definition in enumerate(scored):
        base = bases.get(definition.score_of)
        params[f"of{i}"] = base.key if base else ""  # deleted: nobody has a value
        params[f"count{i}"] = bool(base) and base.aggregation == "count"
        params[f"k{i}"] = definition.key
        values.append(VALUE.format(i=i))
        ranks.append(RANK.format(i=i, direction="ASC" if definition.higher_is_better else "DESC"))
        pairs.append(f"%(k{i})s::text, s{i}")
    for j, definition in enumerate(named):
        params[f"segment{j}"] = definition.key
        pairs.append(f"%(segment{j})s::text, m.name")
    index = {d.key: i for i, d in enumerate(scored)}
    # Without a recency or frequency score (an RFM segment saved refuses that) no cell.
    r, f = (f"r.s{index[k]}" if k in index else "NULL::int" for k in (RECENCY, FREQUENCY))
    sql = STATEMENT.format(
        values=", ".join(values) or "NULL::numeric AS v0",
        ranks=", ".join(ranks) or "NULL::int AS s0",
        kept=" OR ".join(f"v{i} IS NOT NULL" for i in range(len(scored))) or "false",
        pairs=", ".join(pairs),
        r=r,
        f=f,
    )
    return sql, params


@transaction.atomic
def recompute_scores() -> int:
    """Every score and every RFM segment, for all profiles, in one statement; the
    profiles whose values changed are signalled (so that segments follow) and have their
    formulas recomputed. Returns how many profiles changed."""
    from .traits import recompute_formulas  # traits imports this module

    definitions = list(
        ComputedTrait.objects.filter(aggregation__in=("score", "rfm_segment")).order_by("pk")
    )
    if not definitions:
        return 0
    bases = {
        d.key: d for d in ComputedTrait.objects.filter(key__in=[d.score_of for d in definitions])
    }
    ids = sorted({r[0] for r in rows(*_statement(definitions, bases))})
    recompute_formulas(ids)
    changes = ChangeSet()
    changes.add_many(ids, "computed")
    changes.emit()
    now = timezone.now()
    transaction.on_commit(lambda: _set_computed_at(now))
    return len(ids)


def _set_computed_at(when) -> None:
    try:
        cache.set(COMPUTED_AT, when, timeout=None)
    except Exception:  # Redis down: the page says it does not know when
        logger.warning("could not note when the scores were computed", exc_info=True)


def computed_at():
    """When the scores were last computed (None: not known)."""
    try:
        return cache.get(COMPUTED_AT)
    except Exception:
        logger.warning("could not read when the scores were computed", exc_info=True)
        return None


def queue_recompute() -> None:
    """Recomputes the scores in the background, after the caller's commit."""
    outbox.enqueue(TASK)
