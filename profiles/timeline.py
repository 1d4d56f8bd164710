"""The customer timeline: a profile's events, merges and unmerges, stage changes,
consent records, notes and refused links (and what other apps register), newest first,
with keyset pagination by (time, kind, id). Read through ``profiles.selectors``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q

from integrations.models import Source

from .models import (
    ConsentRecord,
    LinkRefusal,
    Merge,
    Note,
    Profile,
    ProfileEvent,
    StageChange,
)

MAX_CHAIN = 50  # merged_into hops followed before giving up (a ledger never loops)

# Every kind, built-in or registered, comes from a fetcher (see register_timeline_source);
# the labels fill the timeline's filter, in registration order.
KIND_LABELS: dict[str, str] = {}


@dataclass
class Filters:
    """What a fetcher narrows by besides the cursor: sources (only kinds that have one
    are asked when set), event types, and the profile's family (it and the profiles
    merged into it, looked up once for the fetchers that show those too)."""

    profile_id: int
    source_ids: list[int] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    _family: list[int] | None = None

    def family(self) -> list[int]:
        if self._family is None:
            self._family = [self.profile_id, *_merged_into(self.profile_id)]
        return self._family


# Hook: where timeline items come from. profiles registers its own kinds below; apps
# that depend on profiles register theirs in AppConfig.ready() (segments: entries and
# exits; campaigns: journeys and messages); profiles never imports them.
# ``fetch(profile=..., before=..., kinds=..., limit=..., filters=...)`` returns, for each
# of its kinds in ``kinds``, at most ``limit`` Items strictly after the decoded cursor
# ``before`` (use ``newest_after``), newest first, in (time, kind, id) order.
TIMELINE_SOURCES: list[tuple[dict[str, str], Callable[..., list]]] = []
# Kinds that have a source (the filter by source asks only these).
SOURCED_KINDS = frozenset({"event", "consent"})


def register_timeline_source(labels: dict[str, str], fetch: Callable[..., list]) -> None:
    """Adds ``labels`` (kind -> filter label) to the timeline's kinds and ``fetch``."""
    if any(existing is fetch for _, existing in TIMELINE_SOURCES):
        return
    TIMELINE_SOURCES.append((labels, fetch))
    KIND_LABELS.update(labels)  # the filter form reads KIND_LABELS when it is built


def timeline_kinds() -> tuple[str, ...]:
    """Every registered kind, built-in ones first."""
    return tuple(k for labels, _ in TIMELINE_SOURCES for k in labels)


@dataclass
class Item:
    kind: str
    id: int
    time: datetime
    title: str
    detail: str = ""
    source: str = ""
    source_id: int | None = None
    data: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple:
        return (self.time, self.kind, self.id)


def encode_cursor(item: Item) -> str:
    raw = f"{item.time.isoformat()}|{item.kind}|{item.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, str, int] | None:
    """(time, kind, id) of the last item seen; None for no or a malformed cursor."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, kind, pk = raw.split("|")
        return datetime.fromisoformat(when), kind, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _after(before, kind: str, time_field: str, id_field: str) -> Q:
    """Rows of ``kind`` strictly after the cursor in (time, kind, id) descending order."""
    if before is None:
        return Q()
    time, ckind, cid = before
    if kind < ckind:
        return Q(**{f"{time_field}__lte": time})
    if kind > ckind:
        return Q(**{f"{time_field}__lt": time})
    # The redundant upper bound lets the (profile, -time) index start at the cursor.
    return Q(**{f"{time_field}__lte": time}) & (
        Q(**{f"{time_field}__lt": time}) | Q(**{time_field: time, f"{id_field}__lt": cid})
    )


def newest_after(qs, before, kind: str, time_field: str, limit: int, id_field: str = "id"):
    """The first ``limit`` rows of ``qs`` strictly after the cursor ``before``, newest
    first ((time, id) descending, along the index that ends in -time): what a timeline
    source returns for one of its kinds."""
    qs = qs.filter(_after(before, kind, time_field, id_field))
    return qs.order_by(f"-{time_field}", f"-{id_field}")[:limit]


def _merged_into(profile_id: int) -> list[int]:
    """Profiles merged into this one, directly or through others (a small set)."""
    found: list[int] = []
    frontier = [profile_id]
    for _ in range(MAX_CHAIN):
        frontier = list(
            Profile.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)
        )
        if not frontier:
            break
        found += frontier
    return found


@dataclass
class TimelinePage:
    items: list[Item]
    next_cursor: str | None


def timeline(
    *,
    profile: Profile,
    before: str | tuple | None = None,
    kinds=None,
    source_ids=None,
    event_types=None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> TimelinePage:
    """The profile's history, newest first: events, merges and unmerges, stage changes
    (also of profiles merged into it), consent records, notes, refused links and what
    other apps register.

    Keyset pagination by (time, kind, id): ``before`` is the cursor of the last item of
    the previous page, so pages neither skip nor repeat items even as new ones arrive.
    Each kind is read with its own ``LIMIT limit + 1`` along an index, then the pages
    are merged. ``source_ids`` keeps only items with a source (events, consent records);
    ``event_types`` keeps only events of those types (track, page, identify, ...);
    ``since`` and ``until`` keep the items from ``since`` and before ``until``.
    """
    before = _start(decode_cursor(before) if isinstance(before, str) else before, until)
    if event_types and not kinds:
        kinds = ["event"]  # an event type asked for: only events have one
    wanted = set(kinds or timeline_kinds()) & set(timeline_kinds())
    if source_ids:
        wanted &= SOURCED_KINDS
    filters = Filters(profile.pk, [int(s) for s in source_ids or []], list(event_types or []))
    items: list[Item] = []
    for labels, fetch in TIMELINE_SOURCES:
        if mine := wanted & set(labels):
            items += fetch(
                profile=profile, before=before, kinds=mine, limit=limit + 1, filters=filters
            )
    if since is not None:
        # Each kind's items are its newest after the cursor: dropping the older ones
        # leaves each list a prefix of that kind's answer, so the merged page is right.
        items = [item for item in items if item.time >= since]
    items.sort(key=lambda i: i.key, reverse=True)
    page = items[:limit]
    more = len(items) > limit
    return TimelinePage(items=page, next_cursor=encode_cursor(page[-1]) if more else None)


def _start(before, until):
    """Before ``until`` is after a cursor at ``until`` (every kind sorts after ""), so
    every kind reads from there along its index."""
    if until is not None and (before is None or before > (until, "", 0)):
        return (until, "", 0)
    return before


# --- the kinds profiles holds, each a registered fetcher like the other apps' ---------


def _events(*, profile, before, kinds, limit, filters: Filters) -> list[Item]:
    qs = ProfileEvent.objects.filter(profile_id=profile.pk).select_related("source")
    if filters.source_ids:
        qs = qs.filter(source_id__in=filters.source_ids)
    if filters.event_types:
        qs = qs.filter(type__in=filters.event_types)
    return [
        Item(
            kind="event",
            id=e.event_id,
            time=e.timestamp,
            title=e.name or e.type,
            detail=e.type,
            source=e.source.name,
            source_id=e.source_id,
            data={"type": e.type, "name": e.name, "properties": e.properties},
        )
        for e in newest_after(qs, before, "event", "timestamp", limit, id_field="event_id")
    ]


def _merges(*, profile, before, kinds, limit, filters: Filters) -> list[Item]:
    ids = filters.family()
    qs = Merge.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids))
    items = []
    if "merge" in kinds:
        done = newest_after(qs.select_related("actor"), before, "merge", "created_at", limit)
        items += [_merge_item(m) for m in done]
    if "unmerge" in kinds:
        undone = qs.filter(undone_at__isnull=False).select_related("undone_by")
        items += [
            _unmerge_item(m) for m in newest_after(undone, before, "unmerge", "undone_at", limit)
        ]
    return items


def _merge_item(m: Merge) -> Item:
    how = m.actor.email if m.actor else "an identity rule"
    return Item(
        kind="merge",
        id=m.pk,
        time=m.created_at,
        title=f"Profile {m.merged_id} merged into profile {m.survivor_id}",
        detail=f"by {how}",
        data={
            "merge_id": m.pk,
            "survivor_id": m.survivor_id,
            "merged_id": m.merged_id,
            "reason": m.reason,
        },
    )


def _unmerge_item(m: Merge) -> Item:
    who = m.undone_by.email if m.undone_by else "someone"
    return Item(
        kind="unmerge",
        id=m.pk,
        time=m.undone_at,
        title=f"Merge of profile {m.merged_id} into {m.survivor_id} undone",
        detail=f"by {who}",
        data={"merge_id": m.pk, "survivor_id": m.survivor_id, "merged_id": m.merged_id},
    )


def _stages(*, profile, before, kinds, limit, filters: Filters) -> list[Item]:
    qs = StageChange.objects.filter(profile_id__in=filters.family())
    return [
        Item(
            kind="stage",
            id=s.pk,
            time=s.changed_at,
            title=f"Stage: {s.get_from_stage_display() or 'none'} → {s.get_to_stage_display()}",
            detail=s.reason,
            data={"from": s.from_stage, "to": s.to_stage, "profile_id": s.profile_id},
        )
        for s in newest_after(qs, before, "stage", "changed_at", limit)
    ]


def _consent(*, profile, before, kinds, limit, filters: Filters) -> list[Item]:
    qs = ConsentRecord.objects.filter(profile_id=profile.pk)
    if filters.source_ids:
        qs = qs.filter(source_id__in=filters.source_ids)
    qs = qs.select_related("purpose", "source", "actor")
    return [
        Item(
            kind="consent",
            id=c.pk,
            time=c.recorded_at,
            title=f"Consent for {c.purpose.label}: {c.get_status_display().lower()}",
            detail=f"by {c.actor.email}" if c.actor else "",
            source=c.source.name if c.source else "",
            source_id=c.source_id,
            data={"purpose": c.purpose.slug, "status": c.status},
        )
        for c in newest_after(qs, before, "consent", "recorded_at", limit)
    ]


def _notes(*, profile, before, kinds, limit, filters: Filters) -> list[Item]:
    qs = Note.objects.filter(profile_id=profile.pk).select_related("author")
    return [
        Item(
            kind="note",
            id=note.pk,
            time=note.created_at,
            title="Note",
            detail=note.body,
            data={"author": note.author.email if note.author else None},
        )
        for note in newest_after(qs, before, "note", "created_at", limit)
    ]


def _refusals(*, profile, before, kinds, limit, filters: Filters) -> list[Item]:
    qs = LinkRefusal.objects.filter(profile_id__in=filters.family())
    return [
        Item(
            kind="refusal",
            id=r.pk,
            time=r.created_at,
            title=f"Not linked: {r.kind} {r.value}",
            detail=r.reason,
            data={"kind": r.kind, "value": r.value, "event_id": r.event_id},
        )
        for r in newest_after(qs, before, "refusal", "created_at", limit)
    ]


register_timeline_source({"event": "Events"}, _events)
register_timeline_source({"merge": "Merges", "unmerge": "Merges undone"}, _merges)
register_timeline_source({"stage": "Stage changes"}, _stages)
register_timeline_source({"consent": "Consent"}, _consent)
register_timeline_source({"note": "Notes"}, _notes)
register_timeline_source({"refusal": "Links refused"}, _refusals)


def timeline_sources() -> list[tuple[int, str]]:
    """The sources to filter a timeline by (a short list: sources are configured)."""

    return list(Source.objects.order_by("name").values_list("pk", "name"))
