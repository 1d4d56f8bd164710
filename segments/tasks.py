"""Celery tasks of segments: thin wrappers over membership and real-time evaluation."""

from celery import shared_task

from cdp_site.celery import LONG_TASK

from . import export, services


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def process_profile_changes() -> int:
    return services.process_profile_changes()


@shared_task(
    acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3, **LONG_TASK
)
def recompute_segment(segment_id: int) -> int:
    return services.recompute_segment(segment_id=segment_id)


@shared_task(**LONG_TASK)
def recompute_sliding_segments() -> int:
    return services.recompute_sliding_segments()


@shared_task
def retry_failing_segments() -> int:
    return services.retry_failing_segments()


@shared_task
def record_segment_sizes() -> int:
    return services.record_sizes()


@shared_task(acks_late=True, **LONG_TASK)
def run_scheduled_exports() -> int:
    return export.export_due_segments()
