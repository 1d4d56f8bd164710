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
    full: bool = False  # some rows belong to a full upload


def wanted(sync: AudienceSync, profile_ids: list[int]) -> dict[int, tuple[str, str]]:
    """{profile: hashes} of the people among ``profile_ids`` who belong in the audience."""
    members = set(
        Membership.objects.filter(
            segment_id=sync.segment_id, profile_id__in=profile_ids
        ).values_list("profile_id", flat=True)
    )
    if not members:
        return {}
    purpose = purpose_for(sync.destination)
    region = (sync.destination.config or {}).get("phone_region") or "US"
    found = {}
    rows = Profile.objects.filter(pk__in=members, restricted=False, merged_into=None)
    for pid, email, phone, consent in rows.values_list(
        "id", "traits__email", "traits__phone", "consent"
    ):
        if ((consent or {}).get(purpose) or {}).get("status") != GRANTED:
            continue
        hashes = hash_member(email, phone, region=region)
        if hashes[0] or hashes[1]:
            found[pid] = hashes
    return found


def plan(sync: AudienceSync, pending: list[tuple[int, int, bool]]) -> Plan:
    """``pending``: (row id, profile id, full) rows of one batch."""
    ids = [p for _, p, _ in pending]
    full = {p for _, p, f in pending if f}
    want = wanted(sync, ids)
    current = {
        pid: ((email, phone), state)
        for pid, email, phone, state in AudienceMember.objects.filter(
            sync=sync, profile_id__in=ids
        ).values_list("profile_id", "email_hash", "phone_hash", "state")
    }
    result = Plan(full=bool(full))
    for pid in ids:
        _decide(result, pid, want.get(pid), current.get(pid), pid in full)
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
