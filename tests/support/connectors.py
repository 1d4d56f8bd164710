"""Driving a connector's sync run in the test process, slice by slice, as the Celery task
does, so that a test can watch what each slice stored and what it waited for."""

from integrations.connectors import sync
from integrations.connectors.models import SyncRun


def drive(run: SyncRun, *, max_slices: int = 200) -> list[sync.Next]:
    """Runs the slices of ``run`` until it ends (waits are not slept); the steps taken."""
    seq, steps = 0, []
    for _ in range(max_slices):
        step = sync.run_slice(run_id=run.id, seq=seq)
        steps.append(step)
        if step.seq is None:
            run.refresh_from_db()
            return steps
        seq = step.seq
    raise AssertionError("the run did not end")
