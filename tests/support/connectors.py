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


def remaining_by_slice(run: SyncRun, *, slices: int) -> list[int | None]:
    """Runs the first ``slices`` slices of ``run``: its estimate of the records still to
    read after each (SyncRun.remaining)."""
    left = []
    for seq in range(slices):
        sync.run_slice(run_id=run.id, seq=seq)
        run.refresh_from_db()
        left.append(run.remaining)
    return left
