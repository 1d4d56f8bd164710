"""Reads on segments: members, history, size over time, a profile's memberships, and the
segment entries/exits of the customer timeline. Each list follows an index and carries a
LIMIT, so its cost depends on the page size, not on the segment's size."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from integrations.destinations.models import Destination
from profiles import selectors as profile_selectors
from profiles.masking import Masker
from profiles.models import Profile
from profiles.selectors import Item, newest_after

from . import realtime
from .models import Membership, MembershipChange, Segment, SizeSample

MEMBER_PAGE = 50


@dataclass
class Member:
    profile_id: int
    name: str
    email: str
    stage: str
    entered_at: datetime


@dataclass
class MemberPage:
    members: list[Member]
    next_cursor: str | None


def _encode(when: datetime, pk: int) -> str:
    raw = f"{when.isoformat()}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, pk = raw.split("|")
        return datetime.fromisoformat(when), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _people(profile_ids, masker: Masker) -> tuple[dict[int, Profile], dict[int, str]]:
    """Profiles by id, and an e-mail per profile: the normalised e-mail identifier, else
    the e-mail trait as it was sent; names and e-mails masked as ``masker`` says for the
    viewer (profiles/masking.py)."""
    profiles = {p.pk: p for p in Profile.objects.filter(pk__in=set(profile_ids))}
    emails = {
        pk: masker.identity("email", email)
        for pk, email in profile_selectors.emails_of(profile_ids=profiles).items()
    }
    for pk, profile in profiles.items():
        if pk not in emails:
            emails[pk] = str(masker.trait("email", profile.traits.get("email")) or "")
        profiles[pk] = masker.profile(profile)
    return profiles, emails


def members(
    *, segment: Segment, masker: Masker, cursor: str | None = None, limit: int | None = None
) -> MemberPage:
    """Members, most recently entered first; keyset pages by (entered_at, profile_id).
    Personal data masked as ``masker`` says (profiles.masking.masker_for the viewer)."""
    limit = limit or MEMBER_PAGE
    qs = Membership.objects.filter(segment=segment)
    after = _decode(cursor)
    if after is not None:
        when, pk = after
        qs = qs.filter(Q(entered_at__lt=when) | Q(entered_at=when, profile_id__lt=pk))
    rows = list(
        qs.order_by("-entered_at", "-profile_id").values_list("profile_id", "entered_at")[
            : limit + 1
        ]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    profiles, emails = _people((pid for pid, _ in rows), masker)
    page = []
    for pid, entered_at in rows:
        profile = profiles.get(pid)
        page.append(
            Member(
                profile_id=pid,
                name=str(profile) if profile else f"Profile {pid}",
                email=emails.get(pid, ""),
                stage=profile.get_stage_display() if profile else "",
                entered_at=entered_at,
            )
        )
    next_cursor = _encode(rows[-1][1], rows[-1][0]) if more and rows else None
    return MemberPage(members=page, next_cursor=next_cursor)


# Why a segment journey did not start for someone who entered (campaigns/triggers.py).
BACKFILL_NOTE = "a connector's history: starts no journey"


@dataclass
class Change:
    id: int
    segment_id: int
    segment_name: str
    profile_id: int
    profile_name: str
    change: str
    at: datetime
    reason: str


def _changes(qs, limit: int, masker: Masker) -> list[Change]:
    rows = list(qs.select_related("segment").order_by("-at", "-id")[:limit])
    profiles, _ = _people((r.profile_id for r in rows), masker)
    return [
        Change(
            id=r.pk,
            segment_id=r.segment_id,
            segment_name=r.segment.name,
            profile_id=r.profile_id,
            profile_name=str(profiles[r.profile_id])
            if r.profile_id in profiles
            else f"Profile {r.profile_id}",
            change=r.change,
            at=r.at,
            reason=f"{r.reason} ({BACKFILL_NOTE})" if r.backfill else r.reason,
        )
        for r in rows
    ]


def history(*, segment: Segment, masker: Masker, limit: int = 30) -> list[Change]:
    """The segment's latest entries and exits (index membershipchange_segment), names
    masked as ``masker`` says."""
    return _changes(MembershipChange.objects.filter(segment=segment), limit, masker)


def size_samples(*, segment: Segment, days: int = 90, limit: int = 2000) -> list[SizeSample]:
    since = timezone.now() - timedelta(days=days)
    rows = SizeSample.objects.filter(segment=segment, at__gte=since).order_by("-at")[:limit]
    return sorted(rows, key=lambda s: s.at)


def size_chart(*, segment: Segment) -> dict | None:
    """A plotly spec of the segment's size over time (read by static/js/charts.js)."""
    samples = size_samples(segment=segment)
    if not samples:
        return None
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [s.at.isoformat() for s in samples],
                "y": [s.size for s in samples],
                "line": {"color": "#2f5d8a", "shape": "hv"},
                "name": "Members",
            }
        ],
        "layout": {
            "margin": {"t": 16, "r": 16, "b": 48, "l": 56},
            "yaxis": {"rangemode": "tozero", "title": {"text": "Members"}},
            "xaxis": {"type": "date"},
        },
    }


@dataclass
class ProfileMembership:
    segment: Segment
    entered_at: datetime


def profile_memberships(*, profile_id: int) -> list[ProfileMembership]:
    """The segments the profile is in, with since when (index membership_profile)."""
    rows = Membership.objects.filter(profile_id=profile_id).select_related("segment")
    found = [ProfileMembership(segment=m.segment, entered_at=m.entered_at) for m in rows]
    return sorted(found, key=lambda m: (m.segment.name.lower(), m.segment.pk))


def profile_changes(*, profile_id: int, masker: Masker, limit: int = 20) -> list[Change]:
    """The profile's latest segment entries and exits (index membershipchange_profile)."""
    return _changes(MembershipChange.objects.filter(profile_id=profile_id), limit, masker)


# --- the customer timeline (registered with profiles in SegmentsConfig.ready) ---------

TIMELINE_KINDS = {"segment-entered": "Segments entered", "segment-exited": "Segments exited"}


def timeline_items(*, profile, before, kinds, limit: int, filters=None) -> list:
    """Entries and exits for profiles.selectors.timeline: per kind, ``limit`` items after
    the cursor ``before`` ((time, kind, id) or None), newest first."""

    items = []
    for kind in sorted(kinds):
        change = kind.removeprefix("segment-")
        qs = MembershipChange.objects.filter(profile_id=profile.pk, change=change)
        for row in newest_after(qs.select_related("segment"), before, kind, "at", limit):
            verb = "Entered" if change == "entered" else "Left"
            items.append(
                Item(
                    kind=kind,
                    id=row.pk,
                    time=row.at,
                    title=f"{verb} segment “{row.segment.name}”",
                    detail=row.reason,
                    data={"segment_id": row.segment_id, "change": change},
                )
            )
    return items


# --- what uses a segment (a segment in use is not deleted) ----------------------------

# Hook: apps above segments name what of theirs uses a segment (campaigns: who enters,
# a branch on membership), registered in their AppConfig.ready(); segments never
# imports them.
USAGE_CHECKS: list[Callable[[Segment], list[str]]] = []


def register_usage_check(check: Callable[[Segment], list[str]]) -> None:
    if check not in USAGE_CHECKS:
        USAGE_CHECKS.append(check)


def users_of(*, segment: Segment) -> list[str]:
    """What uses ``segment``, each as a phrase (segment “B”, campaign “Welcome”, CSV
    export “Nightly”): other segments' rules, scheduled exports and registered users."""
    found = [
        f"segment “{other.name}”"
        for other in Segment.objects.exclude(pk=segment.pk)
        if segment.pk in realtime.referenced(other)
    ]
    exports = Destination.objects.filter(kind=Destination.Kind.CSV_EXPORT)
    found += [
        f"CSV export “{d.name}”"
        for d in exports
        if str((d.config or {}).get("segment_id")) == str(segment.pk)
    ]
    for check in USAGE_CHECKS:
        found += check(segment)
    return found
