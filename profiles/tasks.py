"""Celery tasks of profiles: thin wrappers over the scheduled passes."""

from celery import shared_task

from cdp_site.celery import LONG_TASK

from . import email_confirmation, services


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3, **LONG_TASK)
def recompute_sliding_traits() -> int:
    return services.recompute_sliding_traits()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_email_confirmation(address: str) -> None:
    email_confirmation.send(address=address)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3, **LONG_TASK)
def mark_lapsed_profiles() -> int:
    return services.refresh_retained_stages()


# Tasks of the rules pages, registered with the worker through this module.
from .computed_tasks import backfill_computed_trait, refresh_current_trait  # noqa: E402, F401
from .rules.dryrun_jobs import run_dry_run  # noqa: E402, F401
