"""Real-time membership: reads the profiles' change signal (the ProfileChange outbox)
after the last id handled, and re-evaluates, for each changed profile, only the segments
whose rules read what changed. Segments that refer to other segments come after them,
with the profiles whose membership just changed added.

Backfilled history. A profile whose change records (all of them in the pass) carry
``backfill`` changed only through history a connector backfilled: its entries and exits
are recorded like any other (the person is in the segment, counted and exported) but
marked ``backfill``, and campaigns start nothing on them. Entry is what starts a journey,
so someone who entered on backfill and stays in on live data is not enrolled later; they
are when they leave and come back on live data.

Durable and idempotent: the cursor advances in the same transaction as the membership
writes, so a crash replays the same changes to the same result.

One segment cannot stop the others: each is evaluated in a savepoint, and a segment whose
evaluation fails (a rule stored by an older version, a query over its time limit) is
marked failing on its page and left for ``retry_failing`` (a full recompute, scheduled),
while the cursor moves on for every other segment. Only a failure of the database itself
rolls the whole step back, to be retried.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from cdp_site.dataerrors import describe, is_system_error
from profiles.models import ProfileChange

from . import membership
from .models import ChangeCursor, Segment

logger = logging.getLogger(__name__)

CURSOR = membership.CHANGES_CURSOR
FAILING = "Real-time evaluation failed"  # the prefix of compute_error that retry_failing reads
# Changes after which every segment must look again at the profile (a restriction or its
# lift: whether the person is a member of the segments that leave restricted people out).
RESHAPING = {"created", "merged", "merged_away", "unmerged", "restricted"}


def ordered_segments() -> list[Segment]:
    """Dynamic segments, each after the segments its rule refers to."""
    segments = {s.pk: s for s in Segment.objects.filter(kind=Segment.Kind.DYNAMIC)}
    done, ordered = set(), []

    def visit(segment, seen=()):
        if segment.pk in done or segment.pk in seen:
            return
        for ref in referenced(segment):
            if ref in segments:
                visit(segments[ref], (*seen, segment.pk))
        done.add(segment.pk)
        ordered.append(segment)

    for segment in segments.values():
        visit(segment)
    return ordered


def referenced(segment: Segment) -> set[int]:
    return referenced_in(segment.rule.get("root", {}))


def referenced_in(node: dict) -> set[int]:
    """The segments a rule node (a segment's root, a journey's branch condition) names."""
    found, stack = set(), [node]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if node.get("type") == "segment":
            found.add(node.get("segment_id"))
        stack.extend(node.get("children") or [])
    return found


def affected(segment: Segment, changes: dict[int, tuple[set, set]]) -> list[int]:
    reads, names = set(segment.depends_on), set(segment.event_names)
    ids = []
    for profile_id, (kinds, event_names) in changes.items():
        by_events = "events" in kinds and (not names or bool(event_names & names))
        if kinds & RESHAPING or (kinds & reads) - {"events"} or ("events" in reads and by_events):
            ids.append(profile_id)
    return ids


def evaluate(
    changes: dict[int, tuple[set, set]], *, moved: dict | None = None, backfill=None
) -> int:
    """Re-evaluates the segments the changes touch, and those referring to segments in
    ``moved`` ({segment: profiles whose membership moved}); returns the changes made.
    ``backfill``: the profiles only backfilled history changed (None: see membership.apply)."""
    moved = defaultdict(set, moved or {})
    total = 0
    for segment in ordered_segments():
        ids = set(affected(segment, changes))
        for ref in referenced(segment):
            ids |= moved.get(ref, set())
        if not ids:
            continue
        mine = None if backfill is None else backfill & ids
        rows = _apply_isolated(segment, sorted(ids), backfill=mine)
        if rows:
            moved[segment.pk] = {pid for pid, _ in rows}
            total += len(rows)
    return total


def _apply_isolated(segment: Segment, profile_ids: list[int], *, backfill) -> list[tuple]:
    try:
        with transaction.atomic():
            rows = membership.apply(
                segment, profile_ids=profile_ids, reason="profile changed", backfill=backfill
            )
            if rows:
                membership.refresh_count(segment)
            return rows
    except Exception as exc:
        if is_system_error(exc):
            raise
        logger.warning("segment %s failed in real time: %s", segment.pk, exc)
        Segment.objects.filter(pk=segment.pk).update(compute_error=f"{FAILING}: {describe(exc)}")
        return []


@transaction.atomic
def process_changes(*, limit: int = 5000) -> int:
    """One step of the real-time evaluator; returns how many change records it read."""
    cursor = ChangeCursor.locked(CURSOR)
    rows = list(
        ProfileChange.objects.filter(id__gt=cursor.last_id)
        .order_by("id")
        .values_list("id", "profile_id", "kinds", "detail", "backfill")[:limit]
    )
    if not rows:
        return 0
    changes: dict[int, tuple[set, set]] = {}
    live = set()
    for _, profile_id, kinds, detail, backfill in rows:
        kind_set, names = changes.setdefault(profile_id, (set(), set()))
        kind_set.update(kinds)
        names.update(detail.get("event_names") or ())
        if not backfill:
            live.add(profile_id)
    backfilled = set(changes) - live
    merged = {
        pid: d["into"] for _, pid, kinds, d, _ in rows if "merged_away" in kinds and "into" in d
    }
    moved = carry_uploaded_lists(merged, backfill=backfilled)
    evaluate(changes, moved=moved, backfill=backfilled)
    cursor.last_id = rows[-1][0]
    cursor.save(update_fields=["last_id"])
    return len(rows)


def follow_dependents(segment_id: int, profile_ids: set[int]) -> int:
    """After ``segment_id``'s members changed outside the real-time path (a full
    recompute, an uploaded list): the segments referring to it follow for those people."""
    return evaluate({}, moved={segment_id: set(profile_ids)}) if profile_ids else 0


CARRY_SQL = """
WITH carried AS (
    DELETE FROM segments_membership m USING segments_segment s
    WHERE m.segment_id = s.id AND s.kind = 'static' AND m.profile_id = ANY(%(merged)s)
    RETURNING m.segment_id, m.profile_id
), landed AS (
    INSERT INTO segments_membership (segment_id, profile_id, entered_at)
    SELECT c.segment_id, t.into_id, %(now)s FROM carried c
    JOIN unnest(%(merged)s::bigint[], %(into)s::bigint[]) AS t(merged_id, into_id)
      ON t.merged_id = c.profile_id
    ON CONFLICT (segment_id, profile_id) DO NOTHING
    RETURNING segment_id, profile_id
), history AS (
    INSERT INTO segments_membershipchange (segment_id, profile_id, change, at, reason, backfill)
    SELECT segment_id, profile_id, 'exited', %(now)s, 'merged into another profile',
           profile_id = ANY(%(backfill)s::bigint[])
    FROM carried
    UNION ALL
    SELECT segment_id, profile_id, 'entered', %(now)s, 'merged with a listed profile',
           profile_id = ANY(%(backfill)s::bigint[])
    FROM landed
)
SELECT segment_id, profile_id FROM landed
"""


def carry_uploaded_lists(merged: dict[int, int], *, backfill=frozenset()) -> dict[int, set[int]]:
    """An uploaded list's member merged into another profile: the survivor takes the
    place (rule-based segments re-evaluate by themselves). Returns what moved. A merge
    made by backfilled history (``backfill``: profiles changed only by it) is marked so."""
    if not merged:
        return {}
    params = {
        "merged": list(merged),
        "into": list(merged.values()),
        "now": timezone.now(),
        "backfill": sorted(backfill),
    }
    with connection.cursor() as cursor:
        cursor.execute(CARRY_SQL, params)
        landed = cursor.fetchall()
    moved: dict[int, set[int]] = defaultdict(set)
    for segment_id, profile_id in landed:
        moved[segment_id].add(profile_id)
    for segment in Segment.objects.filter(pk__in=moved):
        membership.refresh_count(segment)
    return moved
