"""Matching's background work: what the pages and the API start, and what beat runs.

Training and a pass take seconds to minutes, so a page or an API client only asks for
them: ``queue_training`` and ``start_pass`` record the request and queue the task once
the transaction commits (through the outbox, so a broker down at that moment loses
nothing); the tasks in profiles/tasks.py call ``train`` and ``services.run_pass``.

Training has no row until it produced a model, so its state lives in the cache (as the
rules' dry runs' does): {"state": "queued"|"running"|"done"|"failed", "model": id,
"field": ..., "reason": ...}, for the page's status and the API's follow link.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from cdp_site import outbox
from cdp_site.celery import LONG_TASK

from ..models import MatchRun, MatchSettings
from . import selectors, services

logger = logging.getLogger(__name__)

TRAIN_TASK = "profiles.tasks.train_match_model"
RUN_TASK = "profiles.tasks.run_match_pass"
TRAINING_KEY = "profiles:matching:training"
TRAINING_TTL = 24 * 3600


def training_status() -> dict:
    """The last training asked for: {"state": "none"} when none is remembered."""
    return cache.get(TRAINING_KEY) or {"state": "none"}


def _set_training(state: str, **extra) -> dict:
    status = {"state": state, "at": timezone.now().isoformat(), **extra}
    cache.set(TRAINING_KEY, status, TRAINING_TTL)
    return status


def _busy(status: dict) -> bool:
    """Queued or running, and not so long ago that the task must have been lost (a
    worker killed mid-training never says so: past the task's time limit, it is over)."""
    if status["state"] not in ("queued", "running"):
        return False
    since = timezone.now() - datetime.fromisoformat(status["at"])
    return since < timedelta(seconds=LONG_TASK["time_limit"])


@transaction.atomic
def queue_training(*, actor=None) -> dict:
    """Queues a training (one at a time: while one is queued or running, its state)."""
    current = training_status()
    if _busy(current):
        return current
    outbox.enqueue(TRAIN_TASK, actor.pk if actor else None)
    return _set_training("queued")


def train(actor_id: int | None = None) -> int | None:
    """The task's work: trains, and says how it went in the training state."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    _set_training("running")
    try:
        model = services.train(actor=actor)
    except services.MatchingError as error:
        _set_training("failed", field=error.field, reason=error.reason)
        return None
    except Exception:
        _set_training("failed", field="model", reason="training failed; see the worker's log")
        raise
    _set_training("done", model=model.pk)
    return model.pk


@transaction.atomic
def start_pass(*, kind: str, actor=None) -> MatchRun:
    """A pass started by a person: recorded now (MatchingError when one runs or the model
    does not fit), run by a worker once this commits."""
    run = services.start_run(kind=kind, actor=actor)
    outbox.enqueue(RUN_TASK, run.pk)
    return run


def scheduled_pass(kind: str) -> MatchRun | None:
    """Beat's pass: nothing when matching is off, no model fits the settings, or a pass
    is running (the next tick tries again)."""
    if not MatchSettings.load().enabled:
        return None
    try:
        run = services.start_run(kind=kind)
    except services.MatchingError as error:
        logger.info("matching: scheduled %s pass skipped: %s", kind, error.reason)
        return None
    return services.run_pass(run_id=run.pk)


def model_is_stale() -> bool:
    """Whether the latest model was trained on another definition than the settings'."""
    model = selectors.latest_model()
    return model is not None and model.signature != selectors.definition().signature
