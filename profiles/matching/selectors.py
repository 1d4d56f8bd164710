"""Reads for matching: profiles as the matcher's rows, what guards a merge, the queue.

Other apps may use ``review_queue`` and ``candidate_pair`` (read only).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection

from ..models import MatchCandidate, MatchModel, MatchSettings, Merge
from . import engine, fields

EXPORT_CHUNK = 5000


@dataclass(frozen=True)
class Definition:
    """What a model is trained and run with, read from the settings."""

    mapping: dict
    comparisons: list
    blocking: list
    vetoes: tuple[str, ...]
    options: fields.Options

    def as_json(self) -> dict:
        return {
            "mapping": self.mapping,
            "comparisons": self.comparisons,
            "blocking": self.blocking,
            "vetoes": list(self.vetoes),
            "phone_region": self.options.region,
            "day_first": self.options.day_first,
        }

    @property
    def signature(self) -> str:
        text = json.dumps(self.as_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def definition(current: MatchSettings | None = None) -> Definition:
    """The settings' definition; each empty part is the default (DEFAULT_MAPPING...)."""
    current = current or MatchSettings.load()
    return Definition(
        mapping=current.mapping or fields.DEFAULT_MAPPING,
        comparisons=current.comparisons or engine.DEFAULT_COMPARISONS,
        blocking=current.blocking or engine.DEFAULT_BLOCKING,
        vetoes=tuple(current.vetoes or engine.DEFAULT_VETOES),
        options=fields.Options(region=current.phone_region, day_first=current.day_first),
    )


def limits(current: MatchSettings) -> engine.Limits:
    return engine.Limits(memory=current.memory_limit, max_block=current.max_block)


def latest_model() -> MatchModel | None:
    return MatchModel.objects.order_by("-id").first()


PROFILES = """
SELECT id, traits FROM profiles_profile
WHERE merged_into_id IS NULL AND id > %s {changed}
ORDER BY id LIMIT %s
"""


def matcher_rows(
    chosen: Definition, *, changed_after=None, only: Iterable[int] | None = None
) -> Iterator[dict]:
    """Each active profile (or those changed after ``changed_after``, or ``only`` these)
    as one row of standard fields with its ``unique_id``; profiles with nothing to
    compare are left out. Read in id order, a chunk at a time."""
    after, changed, extra = 0, "", []
    if changed_after is not None:
        changed, extra = "AND updated_at > %s", [changed_after]
    if only is not None:
        changed, extra = "AND id = ANY(%s)", [sorted(only)]
    query = PROFILES.format(changed=changed)
    while True:
        with connection.cursor() as cursor:
            cursor.execute(query, [after, *extra, EXPORT_CHUNK])
            found = cursor.fetchall()
        for profile_id, traits in found:
            row = fields.standard_row(
                _traits(traits), mapping=chosen.mapping, options=chosen.options
            )
            if fields.matchable(row):
                row[engine.ID] = profile_id
                yield row
        if len(found) < EXPORT_CHUNK:
            return
        after = found[-1][0]


def _traits(value) -> dict:
    if isinstance(value, str):  # a driver that hands jsonb back as text
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


UNVERIFIED = """
SELECT tv.profile_id, tv.key FROM profiles_traitvalue tv
WHERE tv.profile_id = ANY(%s) AND tv.key = ANY(%s) AND NOT tv.verified
  AND NOT EXISTS (
    SELECT 1 FROM profiles_traitvalue v
    WHERE v.profile_id = tv.profile_id AND v.key = tv.key
      AND v.value_hash = tv.value_hash AND v.verified)
"""


def unverified_fields(profile_ids: Iterable[int], chosen: Definition) -> dict[int, set[str]]:
    """For each profile, the standard fields fed by a trait whose value only an
    unverified client source asserted: such values never count towards an auto-merge."""
    feeding: dict[str, set[str]] = defaultdict(set)  # top-level trait key -> fields
    for name, paths in chosen.mapping.items():
        for path in paths:
            feeding[path.split(".")[0]].add(name)
    if not feeding:
        return {}
    result: dict[int, set[str]] = defaultdict(set)
    with connection.cursor() as cursor:
        cursor.execute(UNVERIFIED, [sorted(set(profile_ids)), sorted(feeding)])
        for profile_id, key in cursor.fetchall():
            result[profile_id] |= feeding[key]
    return dict(result)


UNIQUE_IDENTITIES = """
SELECT i.profile_id, i.kind_id, i.value FROM profiles_identity i
JOIN profiles_identifierkind k ON k.id = i.kind_id
WHERE k.max_per_profile = 1 AND i.profile_id = ANY(%s)
"""


def unique_identities(profile_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """{profile: {kind: value}} for the kinds a profile holds one of (a user id, a CRM
    id): two profiles with different values of one of them are two people."""
    result: dict[int, dict[int, str]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(UNIQUE_IDENTITIES, [sorted(set(profile_ids))])
        for profile_id, kind_id, value in cursor.fetchall():
            result[profile_id][kind_id] = value
    return dict(result)


def decided_pairs() -> set[tuple[int, int]]:
    """Pairs a person said are two people: rejected in the queue, or merged and then
    unmerged. The matcher never merges them again (nor suggests them). Few next to the
    profiles, so read whole."""
    rejected = MatchCandidate.objects.filter(status=MatchCandidate.Status.REJECTED).values_list(
        "low_id", "high_id"
    )
    unmerged = Merge.objects.filter(undone_at__isnull=False).values_list("survivor_id", "merged_id")
    return {engine.pair_key(a, b) for a, b in [*rejected, *unmerged]}


def review_queue():
    return MatchCandidate.objects.filter(status=MatchCandidate.Status.PENDING).order_by(
        "-probability", "id"
    )


def candidate_pair(candidate: MatchCandidate):
    """The two profiles of a candidate, as they are now (either may be gone)."""
    from ..models import Profile

    found = Profile.objects.in_bulk([candidate.low_id, candidate.high_id])
    return found.get(candidate.low_id), found.get(candidate.high_id)


@dataclass(frozen=True)
class LevelWeight:
    comparison: str
    level: str
    m: float | None
    u: float | None
    weight: float | None  # log2(m / u); None where Splink has no estimate (the null level)


def level_weights(model: dict) -> list[LevelWeight]:
    """Each comparison level of a saved model with its m and u probabilities and match
    weight: what the model page charts and the API's model detail lists."""
    found = []
    for spec in model.get("comparisons", []):
        name = spec.get("output_column_name", "")
        for level in spec.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = round(math.log2(m / u), 3) if m and u else None
            found.append(LevelWeight(name, level.get("label_for_charts", ""), m, u, weight))
    return found
