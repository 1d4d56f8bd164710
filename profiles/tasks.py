"""Celery tasks of profiles: thin wrappers over the scheduled passes and the background
work of the rules pages. Services queue them by name (cdp_site.outbox.enqueue), so that
no service imports this module."""

from celery import shared_task

from cdp_site.celery import LONG_TASK, SHORT_TASK

from . import email_confirmation, services
from .computed import backfill
from .matching import incremental as matching
from .matching import jobs as matching_jobs
from .matching import services as matching_services
from .privacy import propagation
from .privacy import services as privacy
from .retention import services as retention
from .rules import dryrun_jobs


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3, **LONG_TASK)
def recompute_sliding_traits() -> int:
    return services.recompute_sliding_traits()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3, **LONG_TASK)
def recompute_scores() -> int:
    return services.recompute_scores()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_email_confirmation(address: str) -> None:
    email_confirmation.send(address=address)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3, **LONG_TASK)
def mark_lapsed_profiles() -> int:
    return services.refresh_retained_stages()


@shared_task(name=privacy.RUN_TASK, acks_late=True, **LONG_TASK)
def run_privacy_request(request_id: int, actor_id: int | None = None) -> str:
    # No automatic retry: a failed run says so on its page and is started again by hand.
    return privacy.run_request(request_id=request_id, actor_id=actor_id)


@shared_task(name=propagation.RUN_TASK, acks_late=True, **SHORT_TASK)
def run_propagation_jobs() -> int:
    # Retries are the jobs' own (next_attempt_at); beat runs this every minute as well.
    return propagation.run_due()


@shared_task(**SHORT_TASK)
def purge_privacy_exports() -> int:
    return privacy.purge_exports()


@shared_task(name=retention.RUN_TASK, acks_late=True, **LONG_TASK)
def run_retention(run_id: int | None = None) -> int:
    # No automatic retry: a failed step is recorded in the run; tomorrow's run goes on.
    return retention.run(run_id=run_id).pk


# The rules pages' tasks keep the names they had in their former modules (see the
# constants): queued outbox rows and broker messages name them.


@shared_task(
    name=backfill.BACKFILL_TASK,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
    **LONG_TASK,
)
def backfill_computed_trait(trait_id: int) -> int:
    return backfill.backfill(trait_id)


@shared_task(
    name=backfill.REFRESH_TASK,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
    **LONG_TASK,
)
def refresh_current_trait(key: str) -> int:
    return backfill.refresh_trait(key)


@shared_task(name=dryrun_jobs.RUN_TASK, **LONG_TASK)
def run_dry_run(key: str, kinds=None, blocked=None) -> dict:
    # The blocked list travels as JSON lists: back to the tuples dry_run expects.
    blocked = [tuple(item) for item in blocked] if blocked is not None else None
    return dryrun_jobs.run(key, kinds, blocked).as_dict()


@shared_task(
    name=matching.TASK,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
    **LONG_TASK,
)
def match_changed_profiles() -> int:
    return matching.match_changed_profiles()


# Probabilistic matching's work asked for from the pages and the API (profiles/matching/
# jobs.py), and beat's passes (which skip quietly while matching is off or no model fits
# the settings). No automatic retry: a failed pass is recorded on its run.


@shared_task(name=matching_jobs.TRAIN_TASK, **LONG_TASK)
def train_match_model(actor_id: int | None = None) -> int | None:
    return matching_jobs.train(actor_id)


@shared_task(name=matching_jobs.RUN_TASK, acks_late=True, **LONG_TASK)
def run_match_pass(run_id: int) -> str:
    return matching_services.run_pass(run_id=run_id).status


@shared_task(**LONG_TASK)
def scheduled_match_pass(kind: str) -> int | None:
    run = matching_jobs.scheduled_pass(kind)
    return run.pk if run else None
