"""Celery tasks of pull connectors: thin, they call the sync and the services."""

from celery import shared_task

from . import services, sync


# acks_late: a worker killed mid-slice leaves the message to be delivered again; the
# slice is stale-checked and idempotent (sync.py), so a second delivery stores nothing twice.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_sync_slice(run_id: int, seq: int) -> None:
    following = sync.run_slice(run_id=run_id, seq=seq)
    if following.seq is not None:
        services.queue_slice(run_id=run_id, seq=following.seq, delay=following.delay)


@shared_task
def start_due_syncs() -> int:
    return services.start_due_runs() + services.resume_stalled_runs()
