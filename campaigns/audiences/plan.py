"""What one batch of pending people means for an audience: who is added (with which
hashes) and who is removed (with the hashes sent before).

A person belongs in the audience when they are a member of the synced segment, have a
current grant for the destination's consent purpose (advertising for ad platforms,
e-mail marketing for e-mail tools), are not restricted by a privacy request, and have an
e-mail or phone that hashes. Everyone else who is in the audience is removed: a consent
withdrawal, an exit, an erasure all end as a remove.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from cdp_site.pgarrays import adapt
from integrations.destinations.audiences import hash_member
from integrations.destinations.models import Destination
from profiles.consent import GRANTED
from profiles.models import Profile
from segments.models import Membership

from .models import AudienceMember, AudienceSync

# The consent purpose each kind of destination needs (profiles/defaults.py purposes).
PURPOSES = {
    Destination.Kind.META_CUSTOM_AUDIENCE: "advertising",
    Destination.Kind.GOOGLE_DATA_MANAGER: "advertising",
    Destination.Kind.ESP_LIST: "email_marketing",
}


def purpose_for(destination: Destination) -> str:
    return PURPOSES.get(destination.kind, "advertising")


@dataclass
class Plan:
    adds: list[tuple[int, tuple[str, str]]] = field(default_factory=list)  # (profile, hashes)
    removes: list[tuple[int, tuple[str, str]]] = field(default_factory=list)
    forget: list[int] = field(default_factory=list)  # rejected before, no longer wanted
    full: bool = False  # part of a full upload: people already sent are sent again
    was_in: set[int] = field(default_factory=set)  # in the audience before this batch


WANTED = """
SELECT p.id, p.traits ->> 'email', p.traits ->> 'phone'
FROM {membership} m JOIN {profile} p ON p.id = m.profile_id
WHERE m.segment_id = %(segment)s AND m.profile_id = ANY(%(ids)s)
  AND NOT p.restricted AND p.merged_into_id IS NULL
  AND p.consent -> %(purpose)s ->> 'status' = %(granted)s
"""  # noqa: S608 (the models' own table names; the values are parameters)
CURRENT = """
SELECT profile_id, email_hash, phone_hash, state FROM {member}
WHERE sync_id = %(sync)s AND profile_id = ANY(%(ids)s)
"""  # noqa: S608 (the model's own table name; the values are parameters)


def _rows(sql: str, params: dict) -> list[tuple]:
    # Arrays, not IN (...): ten thousand placeholders cost more than the query itself.
    with connection.cursor() as cursor:
        cursor.execute(sql, adapt(params))
        return cursor.fetchall()


def wanted(sync: AudienceSync, profile_ids: list[int]) -> dict[int, tuple[str, str]]:
    """{profile: hashes} of the people among ``profile_ids`` who belong in the audience."""
    sql = WANTED.format(membership=Membership._meta.db_table, profile=Profile._meta.db_table)
    params = {
        "segment": sync.segment_id,
        "ids": profile_ids,
        "purpose": purpose_for(sync.destination),
        "granted": GRANTED,
    }
    region = (sync.destination.config or {}).get("phone_region") or "US"
    found = {}
    for pid, email, phone in _rows(sql, params):
        hashes = hash_member(email, phone, region=region)
        if hashes[0] or hashes[1]:
            found[pid] = hashes
    return found


def plan(sync: AudienceSync, ids: list[int], *, full: bool = False) -> Plan:
    """What to send for the people ``ids`` (a full upload's batch: ``full``)."""
    want = wanted(sync, ids)
    sql = CURRENT.format(member=AudienceMember._meta.db_table)
    current = {
        pid: ((email, phone), state)
        for pid, email, phone, state in _rows(sql, {"sync": sync.pk, "ids": ids})
    }
    result = Plan(full=full, was_in={p for p, (_, state) in current.items() if state == "in"})
    for pid in ids:
        _decide(result, pid, want.get(pid), current.get(pid), full)
    return result


def _decide(result: Plan, pid: int, hashes, current, full: bool) -> None:
    sent, state = current if current else (None, None)
    is_in = state == AudienceMember.State.IN
    if hashes is None:
        if is_in:
            result.removes.append((pid, sent))
        elif current:
            result.forget.append(pid)
        return
    if sent != hashes:
        if is_in:  # the identifiers changed: the old hashes go
            result.removes.append((pid, sent))
        result.adds.append((pid, hashes))
    elif full:
        result.adds.append((pid, hashes))
