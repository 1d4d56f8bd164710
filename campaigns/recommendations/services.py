"""Writes of recommendations. Others may use ``recompute_all`` and ``recompute_for``.

Both are idempotent (a replay writes the same lists); each pass is one transaction, so
readers see the old lists until the new ones are all there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cdp_site import outbox
from profiles.attribution import ORDER_EVENT

from . import compute
from .models import Recommendation

# Events after which a person's lists are recomputed at once: an order (what they bought
# leaves every list) and a product put in a basket (the cart abandonment journeys read
# "viewed but not bought"). A mere view waits for the scheduled run.
RECOMPUTED_ON = frozenset({ORDER_EVENT, "Product Added"})
# A person's recomputation reads only their events: cheap up to this many at a time.
MAX_PEOPLE_AT_ONCE = 1000


@dataclass(frozen=True)
class RunSummary:
    people: int  # people with at least one list
    lists: int


def _summary() -> RunSummary:
    lists = Recommendation.objects.count()
    people = Recommendation.objects.values("profile_id").distinct().count()
    return RunSummary(people=people, lists=lists)


def recompute_all(*, now=None) -> RunSummary:
    """Every person's lists from every order and recent view (campaigns/recommendations/
    compute.py), with the item tables (neighbours, category tops) rebuilt first; then
    again for the people who ordered while it ran (it read their orders before)."""
    started = timezone.now()
    with transaction.atomic():
        compute.compute_all(now=now or started)
    # An order's time is its sender's clock: an hour's margin before the run's start.
    late = compute.ordered_since(started - timedelta(hours=1))
    for start in range(0, len(late), MAX_PEOPLE_AT_ONCE):
        recompute_for(profile_ids=late[start : start + MAX_PEOPLE_AT_ONCE], now=now)
    return _summary()


@transaction.atomic
def recompute_for(*, profile_ids: list[int], now=None) -> int:
    """These people's lists again (their orders or views changed, or they were merged),
    with the item tables of the last whole run. Returns how many lists they have now."""
    ids = sorted({int(i) for i in profile_ids})[:MAX_PEOPLE_AT_ONCE]
    if not ids:
        return 0
    compute.compute_some(profile_ids=ids, now=now or timezone.now())
    return Recommendation.objects.filter(profile_id__in=ids).count()


def _concerned(change) -> bool:
    _, kinds, detail = change
    if {"merged", "merged_away", "unmerged"} & set(kinds):
        return True
    names = (detail or {}).get("event_names") or ()
    return "events" in kinds and any(name in RECOMPUTED_ON for name in names)


def on_profile_changes(*, changes, **_) -> None:
    """Connected to profiles' change signal: the people who ordered or filled a basket (or
    were merged or unmerged) get their lists recomputed, so that what they just bought
    leaves them. The
    scheduled whole run is the safety net for a change this misses (a worker down)."""
    ids = [change[0] for change in changes if _concerned(change)]
    for start in range(0, len(ids), MAX_PEOPLE_AT_ONCE):
        outbox.enqueue(
            "campaigns.tasks.recompute_recommendations_for", ids[start : start + MAX_PEOPLE_AT_ONCE]
        )
