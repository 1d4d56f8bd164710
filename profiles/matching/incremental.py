"""The incremental matcher: profiles created or changed a moment ago are scored against
every other, and merged or queued, within seconds, off the ingestion path.

It reads the profiles' change signal (the ProfileChange outbox) after its cursor, as the
real-time segment evaluator does, in micro-batches from a warm worker: the WarmIndex
(every profile's row in DuckDB) is built once per worker process and kept current with
each batch's rows, not rebuilt per profile. Processing only sends the signal; a
debounced task does the matching, so an event's commit never waits for it.

Idempotent: a batch replayed after a crash finds its merges made (merge_profiles refuses
a profile merged already) and its queue rows upserted.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction

from cdp_site import debounce

from ..models import MatchCursor, MatchModel, MatchRun, MatchSettings, ProfileChange
from . import selectors, services
from .decide import decide
from .warm_index import WarmIndex

logger = logging.getLogger(__name__)

CURSOR = "incremental"
TRIGGER = "matching:changes"
TASK = "profiles.tasks.match_changed_profiles"
BATCH = 1000
# What changes a profile's row or its pairs.
RESHAPING = {"created", "traits", "identities", "merged", "merged_away", "unmerged"}
# The warm index is rebuilt this often (term frequencies drift, a missed change heals).
REBUILD_SECONDS = 3600

_warm: dict = {}  # this worker process's index: {"index", "model", "signature", "built"}


def trigger(**_) -> None:
    """Connected to profiles' ``profile_changed``: queue the matcher once, off the
    caller's path (a thread of this process asks Redis)."""
    debounce.queue_once_soon(TRIGGER, TASK, seconds=10)


def process_changes(*, limit: int = BATCH) -> int:
    """One micro-batch: returns how many change records it read (0: nothing to do, or
    matching is off, has no usable model, or a full pass is running)."""
    current = MatchSettings.load()
    chosen = selectors.definition(current)
    model = selectors.latest_model()
    usable = current.enabled and model is not None and model.signature == chosen.signature
    if usable:  # built (minutes for millions of profiles) before the cursor is locked
        warm_index(current=current, chosen=chosen, model=model)
    with transaction.atomic():
        cursor = MatchCursor.locked(CURSOR)
        if not usable:
            return _skip_to_latest(cursor)  # the next full pass covers what was skipped
        services.forget_lost_runs()
        if MatchRun.objects.filter(status=MatchRun.Status.RUNNING).exists():
            return 0  # the pass reads every profile; these changes wait for the next batch
        changes = list(
            ProfileChange.objects.filter(id__gt=cursor.last_id)
            .order_by("id")
            .values_list("id", "profile_id", "kinds")[:limit]
        )
        if not changes:
            return 0
        _match(changes, current=current, chosen=chosen, model=model)
        cursor.last_id = changes[-1][0]
        cursor.save(update_fields=["last_id"])
    return len(changes)


def _skip_to_latest(cursor: MatchCursor) -> int:
    latest = ProfileChange.objects.order_by("-id").values_list("id", flat=True).first()
    if latest and latest > cursor.last_id:
        cursor.last_id = latest
        cursor.save(update_fields=["last_id"])
    return 0


def _match(changes: list, *, current, chosen, model: MatchModel) -> None:
    touched = {pid for _, pid, kinds in changes if RESHAPING & set(kinds)}
    if not touched:
        return
    rows = list(selectors.matcher_rows(chosen, only=touched))
    present = {row["unique_id"] for row in rows}
    index = warm_index(current=current, chosen=chosen, model=model)
    index.upsert(rows, gone=touched - present)
    pairs = index.score(rows, threshold=current.review_threshold, vetoes=chosen.vetoes)
    plan = decide(pairs, auto=current.auto_merge_threshold, chosen=chosen)
    services.act(plan, model=model)


def warm_index(*, current, chosen, model: MatchModel) -> WarmIndex:
    """This process's index, built (reading every active profile) when there is none, the
    model changed, or it is older than REBUILD_SECONDS."""
    fresh = (
        _warm.get("model") == model.pk
        and _warm.get("signature") == chosen.signature
        and time.monotonic() - _warm.get("built", 0) < REBUILD_SECONDS
    )
    if not fresh:
        forget()
        started = time.monotonic()
        index = WarmIndex(
            selectors.matcher_rows(chosen), model=model.splink, limits=selectors.limits(current)
        )
        _warm.update(
            index=index, model=model.pk, signature=chosen.signature, built=time.monotonic()
        )
        logger.info(
            "matching index of %s profiles built in %.1fs", index.size, time.monotonic() - started
        )
    return _warm["index"]


def forget() -> None:
    """Drops this process's index (tests, and a model change)."""
    index = _warm.pop("index", None)
    if index is not None:
        index.close()
    _warm.clear()


def match_changed_profiles() -> int:
    """The task's work: every batch waiting (the trigger's flag cleared first, so that a
    change arriving meanwhile queues the next run)."""
    debounce.clear(TRIGGER)
    total = 0
    while read := process_changes():
        total += read
    return total
