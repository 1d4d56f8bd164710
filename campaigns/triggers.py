"""Enrolment and in-journey events from the two outboxes, like segments' real-time reader:
a cursor row (TriggerCursor) locked FOR UPDATE, the outbox read after its ``last_id``, the
effects written and the cursor advanced in one transaction. A crash replays the same
rows; one reader at a time (the lock), so "every time" entries are never doubled.

- Segment changes (``MembershipChange``): segment_entered / segment_exited campaigns.
  An entry or exit caused only by backfilled history (``MembershipChange.backfill``)
  starts nothing; the person stays a member, and entered the segment then, so staying in
  on live data starts nothing later either (segments/realtime.py).
- Profile changes (``ProfileChange`` with ``detail.event_names``), in this order per
  profile: goals (an enrollment whose campaign's goal event happened after entry ends as
  converted), awaited events (wait_for_event moves on to ``next``), then event-triggered
  campaigns (each matching ProfileEvent enrols once, with its properties as context).

Of a trigger's people, only those its entry conditions let in enrol
(campaigns/entry_conditions.py): an event whose properties fail the campaign's filters
starts nothing (a malformed property simply does not match: one odd event never stops
the reader), nor does a person outside its entry audience at the time it is read.

Only active campaigns enrol or move; only what happened after a campaign started counts,
and never history that a connector backfilled (``context.backfill``), nor what it moved.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from profiles.models import ProfileChange, ProfileEvent
from segments.models import MembershipChange

from . import engine, entry_conditions, services
from .models import Campaign, Enrollment, TriggerCursor

MEMBERSHIP_CURSOR = "membership"
PROFILE_CURSOR = "profile_changes"
# How far back a change's events are looked for (events arrive and are processed quickly;
# the per-event dedupe makes the horizon only a bound on the scan).
HORIZON = timedelta(days=2)


@transaction.atomic
def read_membership_changes(*, now: datetime | None = None, limit: int = 2000) -> int:
    """One pass over segment entries and exits; returns how many change rows it read."""
    now = now or timezone.now()
    cursor = TriggerCursor.locked(MEMBERSHIP_CURSOR)
    rows = list(
        MembershipChange.objects.filter(id__gt=cursor.last_id)
        .order_by("id")
        .values_list("id", "segment_id", "profile_id", "change", "at", "backfill")[:limit]
    )
    if not rows:
        return 0
    wanted = {
        MembershipChange.Change.ENTERED: Campaign.Kind.SEGMENT_ENTERED,
        MembershipChange.Change.EXITED: Campaign.Kind.SEGMENT_EXITED,
    }
    campaigns = defaultdict(list)
    for campaign in Campaign.objects.filter(
        status=Campaign.Status.ACTIVE,
        kind__in=list(wanted.values()),
        segment_id__in={r[1] for r in rows if not r[5]},
    ):
        campaigns[(campaign.segment_id, campaign.kind)].append(campaign)
    admitted = _admitted(
        [c for found in campaigns.values() for c in found], {r[2] for r in rows if not r[5]}
    )
    for _, segment_id, profile_id, change, at, backfill in rows:
        if backfill:  # moved by a connector's history: starts nothing
            continue
        for campaign in campaigns.get((segment_id, wanted.get(change)), ()):
            if (
                campaign.started_at
                and at >= campaign.started_at
                and (profile_id in admitted[campaign.pk])
            ):
                services.enroll(
                    campaign=campaign,
                    profile_id=profile_id,
                    context={"segment_id": segment_id, "change": change, "at": at.isoformat()},
                    now=now,
                )
    cursor.last_id = rows[-1][0]
    cursor.save(update_fields=["last_id"])
    return len(rows)


def _admitted(campaigns: list[Campaign], profile_ids: set[int]) -> dict[int, set[int]]:
    """Per campaign, which of ``profile_ids`` its entry audience lets in now."""
    return {c.pk: entry_conditions.in_audience(c.entry_audience, profile_ids) for c in campaigns}


def event_context(event: ProfileEvent) -> dict:
    return {
        "event": event.name,
        "event_id": event.event_id,
        "timestamp": event.timestamp.isoformat(),
        "properties": event.properties or {},
    }


@transaction.atomic
def read_profile_changes(*, now: datetime | None = None, limit: int = 2000) -> int:
    """One pass over profile changes that carry events; returns the rows read."""
    now = now or timezone.now()
    cursor = TriggerCursor.locked(PROFILE_CURSOR)
    rows = list(
        ProfileChange.objects.filter(id__gt=cursor.last_id)
        .order_by("id")
        .values_list("id", "profile_id", "kinds", "detail", "created_at")[:limit]
    )
    if not rows:
        return 0
    names: dict[int, set[str]] = defaultdict(set)
    oldest = rows[0][4]
    for _, profile_id, kinds, detail, _ in rows:
        if "events" in kinds:
            names[profile_id].update((detail or {}).get("event_names") or ())
    every = set().union(*names.values()) if names else set()
    if every:
        _goals(names, every, now)
        _awaited(names, every, now)
        _triggered(names, every, now, since=oldest - HORIZON)
    cursor.last_id = rows[-1][0]
    cursor.save(update_fields=["last_id"])
    return len(rows)


def _goals(names: dict[int, set[str]], every: set[str], now: datetime) -> None:
    campaigns = {
        c.pk: c
        for c in Campaign.objects.filter(goal_event__in=every - {""}).exclude(
            status=Campaign.Status.DRAFT
        )
    }
    if not campaigns:
        return
    candidates = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("campaign")
        .filter(
            campaign_id__in=campaigns,
            profile_id__in=[p for p, n in names.items() if n],
            state__in=[*services.OPEN, Enrollment.State.COMPLETED],
            converted_at__isnull=True,
        )
        .order_by("id")
    )
    for enrollment in candidates:
        goal = enrollment.campaign.goal_event
        if goal not in names.get(enrollment.profile_id, ()):
            continue
        window = timedelta(days=enrollment.campaign.conversion_window_days or 0)
        events = ProfileEvent.objects.filter(
            profile_id=enrollment.profile_id, name=goal, timestamp__gte=enrollment.entered_at
        )
        if enrollment.state == Enrollment.State.COMPLETED:
            events = events.filter(timestamp__lte=enrollment.entered_at + window)
        first = events.order_by("timestamp").values_list("timestamp", flat=True).first()
        if first is not None:
            engine.convert(enrollment, at=first, now=now)


def _awaited(names: dict[int, set[str]], every: set[str], now: datetime) -> None:
    waiting = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("campaign")
        .filter(
            state=Enrollment.State.WAITING_EVENT,
            waiting_for__in=every,
            profile_id__in=list(names),
            campaign__status=Campaign.Status.ACTIVE,
        )
        .order_by("id")
    )
    for enrollment in waiting:
        if enrollment.waiting_for not in names.get(enrollment.profile_id, ()):
            continue
        since = engine.waiting_since(enrollment) or enrollment.entered_at
        came = ProfileEvent.objects.filter(
            profile_id=enrollment.profile_id, name=enrollment.waiting_for, timestamp__gte=since
        ).exists()
        if came:
            engine.event_arrived(enrollment, now=now)
            transaction.on_commit(services.queue_run)


def _triggered(names: dict[int, set[str]], every: set[str], now: datetime, *, since) -> None:
    for campaign in Campaign.objects.filter(
        status=Campaign.Status.ACTIVE, kind=Campaign.Kind.EVENT, trigger_event__in=every
    ).order_by("id"):
        profiles = [p for p, n in names.items() if campaign.trigger_event in n]
        events = list(
            ProfileEvent.objects.filter(
                Q(received_at__gte=max(since, campaign.started_at or since)),
                profile_id__in=profiles,
                name=campaign.trigger_event,
            )
            # History a connector read (profiles/touches.py) starts nothing. Not
            # ``exclude(context__backfill=True)``: its SQL is NULL, so excluding, for every
            # context without the key, i.e. every event with a page or a campaign.
            .filter(Q(context__isnull=True) | ~Q(context__contains={"backfill": True}))
            .order_by("timestamp", "event_id")
        )
        events = [
            e for e in events if entry_conditions.matches(campaign.trigger_filters, e.properties)
        ]
        if not events:
            continue
        admitted = entry_conditions.in_audience(
            campaign.entry_audience, {e.profile_id for e in events}
        )
        events = [e for e in events if e.profile_id in admitted]
        seen = {
            (p, e)
            for p, e in Enrollment.objects.filter(
                campaign=campaign,
                profile_id__in=profiles,
                context__event_id__in=[e.event_id for e in events],
            ).values_list("profile_id", "context__event_id")
        }
        for event in events:
            if (event.profile_id, event.event_id) in seen:
                continue
            services.enroll(
                campaign=campaign,
                profile_id=event.profile_id,
                context=event_context(event),
                now=now,
            )


def read_all(*, now: datetime | None = None) -> int:
    """Both outboxes until both are read; returns the rows read."""
    total = 0
    while True:
        read = read_membership_changes(now=now) + read_profile_changes(now=now)
        total += read
        if not read:
            return total
