"""Background work of the rules pages: backfilling a computed trait for every profile,
and re-choosing current trait values after a survivorship change. The Celery tasks that
run them are in profiles/tasks.py; these queue them by name.

Progress lives in the cache (Redis) under one key per job, so the page can poll it; a
lost progress entry only hides the figure, the work itself is idempotent.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction

from cdp_site import outbox

from ..models import ComputedTrait
from ..sql import rows
from ..survivorship import recompute_current_traits
from . import scores, traits

logger = logging.getLogger(__name__)

# The tasks' registered names, from before they moved to profiles/tasks.py: rows queued in
# the outbox (cdp_site.outbox) and messages on the broker name them.
BACKFILL_TASK = "profiles.computed_tasks.backfill_computed_trait"
REFRESH_TASK = "profiles.computed_tasks.refresh_current_trait"

CHUNK = 2000
PROGRESS_TTL = 24 * 3600
ACTIVE_IDS = """
SELECT id FROM profiles_profile WHERE merged_into_id IS NULL AND id > %s ORDER BY id LIMIT %s
"""
ACTIVE_COUNT = "SELECT count(*) FROM profiles_profile WHERE merged_into_id IS NULL"
WITH_TRAIT_IDS = """
SELECT DISTINCT profile_id FROM profiles_traitvalue WHERE key = %s AND profile_id > %s
ORDER BY profile_id LIMIT %s
"""


def progress_key(trait_id: int) -> str:
    return f"profiles:computed-backfill:{trait_id}"


def progress(trait_id: int) -> dict | None:
    """{"state": "queued"|"running"|"done"|"failed", "done": n, "total": n} or None."""
    try:
        return cache.get(progress_key(trait_id))
    except Exception:  # Redis down: no figure, the page still works
        logger.warning("could not read backfill progress", exc_info=True)
        return None


def _set_progress(trait_id: int, **state) -> None:
    try:
        cache.set(progress_key(trait_id), state, timeout=PROGRESS_TTL)
    except Exception:
        logger.warning("could not write backfill progress", exc_info=True)


def queue_backfill(*, trait_id: int) -> None:
    _set_progress(trait_id, state="queued", done=0, total=None)
    outbox.enqueue(BACKFILL_TASK, trait_id)


def queue_refresh(*, key: str) -> None:
    outbox.enqueue(REFRESH_TASK, key)


def backfill(trait_id: int, *, chunk: int = CHUNK) -> int:
    """Recomputes one computed trait for every active profile, chunk by chunk; a failure
    shows as the "failed" state (and the task retries)."""
    definition = ComputedTrait.objects.filter(pk=trait_id).first()
    if definition is None:  # deleted since it was queued
        return 0
    try:
        return _backfill(definition, chunk=chunk)
    except Exception:
        _set_progress(trait_id, state="failed", done=0, total=None)
        raise


def _backfill(definition: ComputedTrait, *, chunk: int) -> int:
    total = rows(ACTIVE_COUNT)[0][0]
    if not definition.reads_events and definition.aggregation != "formula":
        # A score ranks everyone at once (and its segment follows it).
        _set_progress(definition.pk, state="running", done=0, total=total)
        scores.recompute_scores()
        _set_progress(definition.pk, state="done", done=total, total=total)
        return total
    # The formulas reading this definition (directly or not) follow it.
    formulas = ComputedTrait.objects.filter(aggregation="formula").exclude(pk=definition.pk)
    definitions = [definition, *formulas]
    done, after = 0, 0
    _set_progress(definition.pk, state="running", done=0, total=total)
    while ids := [r[0] for r in rows(ACTIVE_IDS, [after, chunk])]:
        with transaction.atomic():
            traits.recompute(ids, definitions=definitions)
        done, after = done + len(ids), ids[-1]
        _set_progress(definition.pk, state="running", done=min(done, total), total=total)
    _set_progress(definition.pk, state="done", done=done, total=max(total, done))
    return done


def refresh_trait(key: str, *, chunk: int = CHUNK) -> int:
    """Chooses the current value again for every profile that has values of ``key``."""
    done, after = 0, 0
    while ids := [r[0] for r in rows(WITH_TRAIT_IDS, [key, after, chunk])]:
        with transaction.atomic():
            recompute_current_traits(ids)
        done, after = done + len(ids), ids[-1]
    return done
