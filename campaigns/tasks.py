"""Celery tasks of campaigns: thin wrappers over the trigger readers and the runner."""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.utils import timezone

from cdp_site import debounce
from cdp_site.celery import LONG_TASK
from cdp_site.redis_client import client

from . import bounces, runner, services, triggers
from .recommendations import services as recommendation_services


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def read_triggers() -> int:

    debounce.clear(TRIGGERS_KEY)
    read = triggers.read_all()
    if read:
        services.queue_run()
    return read


@shared_task(acks_late=True)
def run_due_steps() -> dict:
    """Runs what is due. When more is due than one claim takes, another worker is asked
    to help (one pending helper at a time); when the rounds ran out with more left, it
    queues itself again; then it schedules a run at the next timer due within
    ``TIMER_HORIZON`` seconds, so that a timer fires at its time rather than at the
    next beat."""

    debounce.clear(services.RUN_TRIGGER)
    debounce.clear(HELPER_KEY)
    debounce.clear(TIMER_KEY)
    result = runner.run(on_busy=_ask_for_help)
    if result.get("more"):
        run_due_steps.delay()
    else:
        _schedule_at(runner.next_wake_at(), TIMER_KEY, run_due_steps)
    _plan_staging(runner)
    if result.get("delivered", 0) >= runner.DELIVER_LIMIT:
        _ask_for_delivery_help()
    return result


HELPER_KEY = "cdp:campaigns:run-helper"
TIMER_KEY = "cdp:campaigns:run-timer"
TIMER_HORIZON = 30.0  # seconds; later timers are found by beat (every 5 s) anyway


def _ask_for_help() -> None:
    debounce.queue_once(HELPER_KEY, run_due_steps, seconds=5)


STAGE_KEY = "cdp:campaigns:stage"
STAGE_HELPER_KEY = "cdp:campaigns:stage-helper"


def _plan_staging(runner) -> None:
    """Many timers at one instant within the horizon: prepare them ahead of it."""

    now = timezone.now()
    mass = runner.next_mass_timer(now=now, horizon=timedelta(seconds=TIMER_HORIZON))
    if mass is not None:
        due_at, count = mass
        _schedule_at(
            due_at - runner.stage_lead(count), STAGE_KEY, stage_timers, args=(due_at.isoformat(),)
        )


@shared_task(acks_late=True)
def stage_timers(due_at: str) -> int:
    """Moves the timers due at ``due_at`` ahead of it, committed at it (runner.stage_waits);
    one more worker is asked to help when there is more than one claim's worth."""

    def ask_for_help() -> None:
        debounce.queue_once(STAGE_HELPER_KEY, stage_timers, seconds=5, args=(due_at,))

    return runner.stage_waits(due_at=datetime.fromisoformat(due_at), on_busy=ask_for_help)


def _schedule_at(when, key: str, task, args: tuple = ()) -> None:
    """Runs ``task`` at ``when`` if that is within ``TIMER_HORIZON`` seconds (one
    pending run per ``key``; later ones are found by beat)."""

    if when is None:
        return
    delay = (when - timezone.now()).total_seconds()
    if delay > TIMER_HORIZON:
        return
    delay = max(delay, 0.0)
    try:
        if client().set(key, str(when.timestamp()), nx=True, ex=int(delay) + 5):
            task.apply_async(args=args, countdown=delay)
    except Exception:  # noqa: BLE001 (Redis down: beat runs it)
        logging.getLogger(__name__).warning("could not schedule %s", task.name, exc_info=True)


DELIVER_HELPER_KEY = "cdp:campaigns:deliver-helper"
DELIVER_TIMER_KEY = "cdp:campaigns:deliver-timer"


@shared_task(acks_late=True)
def retry_deliveries() -> int:
    """Sends due deliveries (new ones, retries, reservations a killed worker left).
    While more is due than a batch, it asks one more worker to help (at most one new
    helper a second, so a large send fans out to the workers there are, and the extra
    tasks find nothing left and end); a run that reached its limit queues the next;
    otherwise it schedules itself when the next delivery is due."""

    debounce.clear(DELIVER_TIMER_KEY)
    done = runner.deliver_due(limit=runner.DELIVER_LIMIT, on_busy=_ask_for_delivery_help)
    if done >= runner.DELIVER_LIMIT:
        retry_deliveries.delay()
    else:
        _schedule_at(runner.next_delivery_at(), DELIVER_TIMER_KEY, retry_deliveries)
    return done


def _ask_for_delivery_help() -> None:
    debounce.queue_once(DELIVER_HELPER_KEY, retry_deliveries, seconds=1)


TRIGGERS_KEY = "cdp:campaigns:triggers-pending"


def queue_triggers(**_) -> None:
    """Connected to the profile and membership change signals (after their commit)."""
    debounce.queue_once(TRIGGERS_KEY, read_triggers)


@shared_task
def purge_step_logs() -> int:

    return services.purge_step_logs()


@shared_task(acks_late=True)
def sync_audiences() -> dict:
    """Audience syncs: reads the change records, then sends each sync's pending people
    (campaigns/audiences/sync.py). Beat runs it every few seconds."""
    from .audiences import sync

    return sync.run_due()


# Recommendations (campaigns/recommendations/): the whole run from beat, a person's lists
# when their orders change. Both idempotent; one whole run at a time (a lock in Redis).
RECOMMENDATIONS_LOCK = "campaigns:recommendations:running"


@shared_task(acks_late=True, **LONG_TASK)
def recompute_recommendations() -> int:
    # A second run while one holds the lock would only redo the same work.
    if not client().set(RECOMMENDATIONS_LOCK, "1", nx=True, ex=LONG_TASK["time_limit"]):
        return 0
    try:
        return recommendation_services.recompute_all().lists
    finally:
        client().delete(RECOMMENDATIONS_LOCK)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def recompute_recommendations_for(profile_ids: list[int]) -> int:
    return recommendation_services.recompute_for(profile_ids=profile_ids)


PERSONALIZATION_KEY = "cdp:campaigns:personalization-pending"


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def read_personalization() -> int:
    """The personalisation cache follows the change records (campaigns/personalization)."""
    from .personalization import cache

    debounce.clear(PERSONALIZATION_KEY)
    return cache.read_all()


def queue_personalization(**_) -> None:
    """Connected to the profile and membership change signals (after their commit)."""
    debounce.queue_once(PERSONALIZATION_KEY, read_personalization)


@shared_task(acks_late=True)
def rebuild_personalization() -> int:
    """Every cached answer rewritten: a source's public choices or a segment's flag changed."""
    from .personalization import cache

    return cache.rebuild()


@shared_task(acks_late=True)
def read_bounce_folders() -> dict:
    """DSNs and complaint reports dropped into the SMTP destinations' bounce folders."""
    return bounces.read_bounce_folders()
