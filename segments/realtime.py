"""Real-time membership: reads the profiles' change signal (the ProfileChange outbox)
after the last id handled, and re-evaluates, for each changed profile, only the segments
whose rules read what changed. Segments that refer to other segments come after them,
with the profiles whose membership just changed added.

Durable and idempotent: the cursor advances in the same transaction as the membership
writes, so a crash replays the same changes to the same result.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from profiles.models import ProfileChange

from .models import ChangeCursor, Segment

CURSOR = "segments"
# Changes after which every segment must look again at the profile.
RESHAPING = {"created", "merged", "merged_away", "unmerged"}


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
    found, stack = set(), [segment.rule.get("root", {})]
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


def evaluate(changes: dict[int, tuple[set, set]]) -> int:
    """Re-evaluates the segments the changes touch; returns the membership changes."""
    from . import membership

    moved: dict[int, set[int]] = defaultdict(set)  # segment -> profiles whose membership moved
    total = 0
    for segment in ordered_segments():
        ids = set(affected(segment, changes))
        for ref in referenced(segment):
            ids |= moved.get(ref, set())
        if not ids:
            continue
        rows = membership.apply(segment, profile_ids=sorted(ids), reason="profile changed")
        if rows:
            moved[segment.pk] = {pid for pid, _ in rows}
            membership.refresh_count(segment)
            total += len(rows)
    return total


@transaction.atomic
def process_changes(*, limit: int = 5000) -> int:
    """One step of the real-time evaluator; returns how many change records it read."""
    cursor, _ = ChangeCursor.objects.get_or_create(name=CURSOR)
    cursor = ChangeCursor.objects.select_for_update().get(pk=cursor.pk)
    rows = list(
        ProfileChange.objects.filter(id__gt=cursor.last_id)
        .order_by("id")
        .values_list("id", "profile_id", "kinds", "detail")[:limit]
    )
    if not rows:
        return 0
    changes: dict[int, tuple[set, set]] = {}
    for _, profile_id, kinds, detail in rows:
        kind_set, names = changes.setdefault(profile_id, (set(), set()))
        kind_set.update(kinds)
        names.update(detail.get("event_names") or ())
    evaluate(changes)
    cursor.last_id = rows[-1][0]
    cursor.save(update_fields=["last_id"])
    return len(rows)
