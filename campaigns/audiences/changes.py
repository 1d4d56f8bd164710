"""What makes a person's place in a synced audience worth checking again, read from the
two change records with cursors of their own (TriggerCursor rows, locked FOR UPDATE; the
pending rows written and the cursor moved in one transaction, so a crash replays):

- segment entries and exits (``MembershipChange``) of a synced segment;
- profile changes (``ProfileChange``) of consent (a withdrawal must remove), traits and
  identities (the hashes change), restriction, merges, for people who are in a synced
  segment or in a synced audience.

Each writes ``AudiencePending`` (sync, person); the sender decides what to send.
Backfilled entries count too: the membership is real, only journeys ignore them.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from cdp_site.pgarrays import adapt
from profiles.models import ProfileChange
from segments.models import Membership, MembershipChange

from ..models import TriggerCursor
from .models import AudienceMember, AudiencePending, AudienceSync

MEMBERSHIP_CURSOR = "audience_membership"
PROFILE_CURSOR = "audience_profiles"
PROFILE_KINDS = frozenset(
    {"consent", "traits", "identities", "restricted", "merged", "merged_away", "unmerged"}
)
LIMIT = 5000


def _cursor(name: str, model) -> TriggerCursor:
    """The cursor, locked; a new one starts at the record's end: a sync begins with a
    full upload, so earlier changes are covered."""
    if not TriggerCursor.objects.filter(name=name).exists():
        end = model.objects.aggregate(end=Max("id"))["end"] or 0
        TriggerCursor.objects.get_or_create(name=name, defaults={"last_id": end})
    return TriggerCursor.locked(name)


MARK = """
INSERT INTO {table} (sync_id, profile_id, marked_at)
SELECT s, p, %s FROM unnest(%s::bigint[], %s::bigint[]) AS t(s, p)
ON CONFLICT (sync_id, profile_id) DO UPDATE SET marked_at = EXCLUDED.marked_at
"""  # noqa: S608 (the model's own table name; the values are parameters)


def mark(pairs) -> int:
    """Writes pending rows for (sync id, profile id) pairs (already pending: marked again)."""
    unique = sorted(set(pairs))
    if unique:
        with connection.cursor() as cursor:
            cursor.execute(
                MARK.format(table=AudiencePending._meta.db_table),
                adapt([timezone.now(), [s for s, _ in unique], [p for _, p in unique]]),
            )
    return len(unique)


@transaction.atomic
def read_membership_changes(*, limit: int = LIMIT) -> int:
    cursor = _cursor(MEMBERSHIP_CURSOR, MembershipChange)
    rows = list(
        MembershipChange.objects.filter(id__gt=cursor.last_id)
        .order_by("id")
        .values_list("id", "segment_id", "profile_id")[:limit]
    )
    if not rows:
        return 0
    syncs = defaultdict(list)
    for sync_id, segment_id in AudienceSync.objects.filter(
        segment_id__in={r[1] for r in rows}
    ).values_list("id", "segment_id"):
        syncs[segment_id].append(sync_id)
    mark((sync_id, profile_id) for _, segment, profile_id in rows for sync_id in syncs[segment])
    cursor.last_id = rows[-1][0]
    cursor.save(update_fields=["last_id"])
    return len(rows)


@transaction.atomic
def read_profile_changes(*, limit: int = LIMIT) -> int:
    cursor = _cursor(PROFILE_CURSOR, ProfileChange)
    rows = list(
        ProfileChange.objects.filter(id__gt=cursor.last_id)
        .order_by("id")
        .values_list("id", "profile_id", "kinds")[:limit]
    )
    if not rows:
        return 0
    people = {pid for _, pid, kinds in rows if PROFILE_KINDS.intersection(kinds or ())}
    syncs = defaultdict(list)
    for sync_id, segment_id in AudienceSync.objects.values_list("id", "segment_id"):
        syncs[segment_id].append(sync_id)
    if people and syncs:
        members = Membership.objects.filter(
            segment_id__in=list(syncs), profile_id__in=people
        ).values_list("segment_id", "profile_id")
        pairs = [(s, pid) for segment, pid in members for s in syncs[segment]]
        pairs += AudienceMember.objects.filter(profile_id__in=people).values_list(
            "sync_id", "profile_id"
        )
        mark(pairs)
    cursor.last_id = rows[-1][0]
    cursor.save(update_fields=["last_id"])
    return len(rows)


def read_all() -> int:
    total = 0
    while read := read_membership_changes() + read_profile_changes():
        total += read
    return total
