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

# The profiles a score ranks: %(of)s a number, and not a count of zero.
POPULATION = """merged_into_id IS NULL AND jsonb_typeof(computed->%(of)s) = 'number'
    AND NOT (%(is_count)s AND (computed->>%(of)s)::numeric = 0)"""
SCORE = """
WITH scored AS (
    SELECT id, least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY
        (computed->>%(of)s)::numeric {direction})))::int AS score
    FROM profiles_profile WHERE {population}
)
UPDATE profiles_profile p SET computed = p.computed || jsonb_build_object(%(key)s, s.score)
FROM scored s WHERE p.id = s.id AND p.computed->%(key)s IS DISTINCT FROM to_jsonb(s.score)
RETURNING p.id
"""
UNSCORED = """
UPDATE profiles_profile SET computed = computed - %(key)s
WHERE computed ? %(key)s AND NOT ({population}) RETURNING id
"""
RFM = """
WITH named AS (
    SELECT p.id, m.name FROM profiles_profile p
    JOIN unnest(%(r)s::int[], %(f)s::int[], %(names)s::text[]) AS m(r, f, name)
      ON m.r = (p.computed->>%(r_key)s)::int AND m.f = (p.computed->>%(f_key)s)::int
    WHERE p.merged_into_id IS NULL AND jsonb_typeof(p.computed->%(r_key)s) = 'number'
      AND jsonb_typeof(p.computed->%(f_key)s) = 'number'
)
UPDATE profiles_profile p SET computed = p.computed || jsonb_build_object(%(key)s, n.name)
FROM named n WHERE p.id = n.id AND p.computed->>%(key)s IS DISTINCT FROM n.name
RETURNING p.id
"""
UNNAMED = """
UPDATE profiles_profile SET computed = computed - %(key)s
WHERE computed ? %(key)s AND NOT (jsonb_typeof(computed->%(r_key)s) = 'number'
    AND jsonb_typeof(computed->%(f_key)s) = 'number') RETURNING id
"""


def _score(definition: ComputedTrait, base: ComputedTrait | None) -> list[int]:
    if base is None:  # its trait was deleted: no scores
        params = {"key": definition.key}
        return [
            r[0]
            for r in rows(
                "UPDATE profiles_profile SET computed = computed - %(key)s "
                "WHERE computed ? %(key)s RETURNING id",
                params,
            )
        ]
    params = {
        "key": definition.key,
        "of": base.key,
        "is_count": base.aggregation == "count",
    }
    direction = "ASC" if definition.higher_is_better else "DESC"
    # Both statements are constants above; every value is a parameter.
    changed = rows(SCORE.format(direction=direction, population=POPULATION), params)
    changed += rows(UNSCORED.format(population=POPULATION), params)
    return [r[0] for r in changed]


def _segment(definition: ComputedTrait) -> list[int]:
    cells = sorted(SEGMENTS.items())
    params = {
        "key": definition.key,
        "r_key": RECENCY,
        "f_key": FREQUENCY,
        "r": [r for (r, _), _ in cells],
        "f": [f for (_, f), _ in cells],
        "names": [name for _, name in cells],
    }
    return [r[0] for r in rows(RFM, params) + rows(UNNAMED, params)]


@transaction.atomic
def recompute_scores(*, definitions=None) -> int:
    """Every score, then every RFM segment, for all profiles; the profiles whose values
    changed are signalled (so that segments follow) and have their formulas recomputed.
    Returns how many profiles changed."""
    from .traits import recompute_formulas  # traits imports this module

    if definitions is None:
        definitions = ComputedTrait.objects.filter(aggregation__in=("score", "rfm_segment"))
    definitions = sorted(definitions, key=lambda d: d.aggregation != "score")
    bases = {
        d.key: d for d in ComputedTrait.objects.filter(key__in=[d.score_of for d in definitions])
    }
    changed: set[int] = set()
    for definition in definitions:
        if definition.aggregation == "score":
            changed.update(_score(definition, bases.get(definition.score_of)))
        else:
            changed.update(_segment(definition))
    ids = sorted(changed)
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
