"""The cached answers of the personalisation API, kept current from the change records.

Writer of the Redis hashes that integrations/collect/personalize.py reads (one HGET a
request): for each identifier of a person with something to show, a field per source
holding the answer. A person with nothing to show, no personalisation consent, restricted
by a privacy request, merged away or erased has no entry: a miss is the empty answer.
Each person's entries are listed in ``cdp:p13n:profile:<id>`` so a refresh removes the
ones that no longer hold (an identifier moved, a consent withdrawn).

``read_changes`` is the cursor consumer (like campaigns/triggers.py): profile changes
(traits, stage, consent, identities, merges, restriction) and segment entries and exits
after the last ids handled are read under one locked cursor, the people they name are
refreshed, and the cursors move in the same transaction; a crash replays the same rows
to the same entries (a refresh recomputes from the database). ``rebuild`` rewrites every
consenting person's answers (the public choices changed), in slices under the same lock.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower

from cdp_site.redis_client import client
from integrations.collect import personalize as reader
from profiles.changes import KINDS
from profiles.consent import may_use
from profiles.models import BlockedValue, Identity, Profile, ProfileChange
from segments.models import Membership, MembershipChange

from ..models import TriggerCursor
from . import answers
from .answers import Person, SourceSettings
from .settings import all_settings

logger = logging.getLogger(__name__)

PURPOSE = "personalisation"  # profiles/defaults.py CONSENT_PURPOSES
PROFILE_CURSOR = "personalization:profiles"
MEMBERSHIP_CURSOR = "personalization:membership"
# What changes an answer: all but events (they change it through stage, traits and
# segments, which have their own change records) and notes.
RELEVANT = set(KINDS) - {"events", "note"}
REBUILD_SLICE = 2000
SEP = "\x1f"  # between a hash's key and its field in a person's index


def index_key(profile_id: int) -> str:
    return f"{reader.PREFIX}profile:{profile_id}"


def _people(profile_ids) -> list[Person]:
    """The people who may be personalised: active, unrestricted, consenting."""
    rows = Profile.objects.filter(
        pk__in=list(profile_ids), merged_into=None, restricted=False
    ).only("id", "stage", "traits", "computed", "consent")
    return [
        Person(p.pk, p.stage or "", p.traits or {}, p.computed or {})
        for p in rows
        if may_use(p, PURPOSE)
    ]


def _with_segments(people: list[Person], segment_ids: set[int]) -> list[Person]:
    if not segment_ids or not people:
        return people
    member_of = defaultdict(set)
    for profile_id, segment_id in Membership.objects.filter(
        profile_id__in=[p.profile_id for p in people], segment_id__in=segment_ids
    ).values_list("profile_id", "segment_id"):
        member_of[profile_id].add(segment_id)
    return [
        Person(p.profile_id, p.stage, p.traits, p.computed, frozenset(member_of[p.profile_id]))
        for p in people
    ]


def _identifiers(profile_ids, kinds: set[str]) -> dict[int, list[tuple[str, str]]]:
    """{profile: [(kind name, value)]}, leaving out values blocked from linking."""
    blocked = BlockedValue.objects.annotate(low=Lower("value"))
    blocked_any = set(blocked.filter(kind=None).values_list("low", flat=True))
    blocked_kind = set(blocked.exclude(kind=None).values_list("kind__name", "low"))
    found = defaultdict(list)
    for profile_id, kind, value in Identity.objects.filter(
        profile_id__in=list(profile_ids), kind__name__in=kinds
    ).values_list("profile_id", "kind__name", "value"):
        low = value.lower()
        if low not in blocked_any and (kind, low) not in blocked_kind:
            found[profile_id].append((kind, value))
    return found


def _entries(people: list[Person], settings: list[SourceSettings]) -> dict[int, dict]:
    """{profile id: {(hash key, field): answer bytes}} for everything to cache."""
    kinds = {"anonymous_id"} | {s.user_id_kind for s in settings}
    ids = _identifiers([p.profile_id for p in people], kinds)
    entries: dict[int, dict] = defaultdict(dict)
    for setting in settings:
        field = str(setting.source_id)
        for profile_id, answer in answers.build(people, setting).items():
            text = json.dumps(answer, separators=(",", ":"), default=str).encode()
            for kind, value in ids.get(profile_id, ()):
                if kind == "anonymous_id":
                    entries[profile_id][(reader.cache_key(reader.ANONYMOUS, value), field)] = text
                if kind == setting.user_id_kind:
                    entries[profile_id][(reader.cache_key(reader.USER, value), field)] = text
    return entries


def _owned_elsewhere(stale: set[tuple[str, str]], profile_ids: set[int]) -> set[str]:
    """Hash keys of stale entries whose identifier now belongs to another person (moved by
    a merge or an unmerge): that person's refresh writes them, so they are not deleted."""
    values = defaultdict(set)
    for key, _ in stale:
        kind, _, value = key[len(reader.PREFIX) :].partition(":")
        values[kind].add(value)
    condition = Q(pk__in=[])
    if values[reader.ANONYMOUS]:
        condition |= Q(kind__name="anonymous_id", value__in=values[reader.ANONYMOUS])
    if values[reader.USER]:
        condition |= Q(value__in=values[reader.USER]) & ~Q(kind__name="anonymous_id")
    owned = set()
    for kind, value in (
        Identity.objects.filter(condition)
        .exclude(profile_id__in=profile_ids)
        .values_list("kind__name", "value")
    ):
        tag = reader.ANONYMOUS if kind == "anonymous_id" else reader.USER
        owned.add(reader.cache_key(tag, value))
    return owned


def refresh(profile_ids, *, settings: list[SourceSettings] | None = None) -> int:
    """Rewrites these people's cached answers from the database; returns entries written."""
    profile_ids = set(profile_ids)
    if not profile_ids:
        return 0
    settings = all_settings() if settings is None else settings
    segment_ids = {pk for s in settings for pk in s.segments}
    people = _with_segments(_people(profile_ids), segment_ids) if settings else []
    entries = _entries(people, settings)
    redis = client()
    order = sorted(profile_ids)
    pipe = redis.pipeline(transaction=False)
    for profile_id in order:
        pipe.smembers(index_key(profile_id))
    previous = dict(zip(order, pipe.execute(), strict=True))
    stale = {
        tuple(member.decode().split(SEP, 1))
        for profile_id, members in previous.items()
        for member in members
    } - {entry for mine in entries.values() for entry in mine}
    keep = _owned_elsewhere(stale, profile_ids) if stale else set()
    pipe = redis.pipeline(transaction=True)
    for key, field in stale:
        if key not in keep:
            pipe.hdel(key, field)
    for profile_id in order:
        pipe.delete(index_key(profile_id))
        mine = entries.get(profile_id) or {}
        for (key, field), text in mine.items():
            pipe.hset(key, field, text)
        if mine:
            pipe.sadd(index_key(profile_id), *(f"{k}{SEP}{f}" for k, f in mine))
    pipe.execute()
    return sum(len(e) for e in entries.values())


@transaction.atomic
def read_changes(*, limit: int = 2000) -> int:
    """One pass over both change records; returns the rows read."""
    profiles = TriggerCursor.locked(PROFILE_CURSOR)
    memberships = TriggerCursor.locked(MEMBERSHIP_CURSOR)
    changes = list(
        ProfileChange.objects.filter(id__gt=profiles.last_id)
        .order_by("id")
        .values_list("id", "profile_id", "kinds", "detail")[:limit]
    )
    moves = list(
        MembershipChange.objects.filter(id__gt=memberships.last_id)
        .order_by("id")
        .values_list("id", "profile_id", "segment_id")[:limit]
    )
    if not changes and not moves:
        return 0
    settings = all_settings()
    public = {pk for s in settings for pk in s.segments}
    touched = {pid for _, pid, kinds, _ in changes if RELEVANT & set(kinds)}
    for *_, detail in changes:
        touched.update((detail or {}).get("merged") or ())
    touched |= {pid for _, pid, segment_id in moves if segment_id in public}
    if settings or touched:
        refresh(touched, settings=settings)
    for cursor, rows in ((profiles, changes), (memberships, moves)):
        if rows:
            cursor.last_id = rows[-1][0]
            cursor.save(update_fields=["last_id"])
    return len(changes) + len(moves)


def read_all() -> int:
    total = 0
    while read := read_changes():
        total += read
    return total


@transaction.atomic
def rebuild_slice(*, after: int = 0, size: int = REBUILD_SLICE) -> int | None:
    """Rewrites the answers of the next ``size`` people with an id above ``after`` (and
    drops what the people in that id range no longer have); returns the last id done,
    None at the end. Holds the consumer's lock, so the two never write one entry apart."""
    TriggerCursor.locked(PROFILE_CURSOR)
    ids = list(
        Profile.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size]
    )
    if not ids:
        return None
    refresh(ids)
    return ids[-1]


def rebuild() -> int:
    """Every person's answers, slice by slice; returns the people looked at."""
    after, seen = 0, 0
    while (last := rebuild_slice(after=after)) is not None:
        seen += REBUILD_SLICE
        after = last
    return seen


def forget(profile_ids) -> None:
    """Drops these people's cached answers (their erasure), once the transaction commits."""
    ids = sorted(set(profile_ids))

    def drop() -> None:
        redis = client()
        for profile_id in ids:
            for member in redis.smembers(index_key(profile_id)):
                key, _, field = member.decode().partition(SEP)
                redis.hdel(key, field)
            redis.delete(index_key(profile_id))

    transaction.on_commit(drop)
