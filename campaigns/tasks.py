"""Celery tasks of campaigns: thin wrappers over the trigger readers and the runner."""

from celery import shared_task

from cdp_site import triggers as debounce


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def read_triggers() -> int:
    from . import services, triggers

    debounce.clear(TRIGGERS_KEY)
    read = triggers.read_all()
    if read:
        services.queue_run()
    return read


@shared_task(acks_late=True)
def run_due_steps() -> dict:
    from . import runner, services

    debounce.clear(services.RUN_TRIGGER)
    return runner.run()


@shared_task(acks_late=True)
def retry_deliveries() -> int:
    from . import runner

    return runner.deliver_due()


TRIGGERS_KEY = "cdp:campaigns:triggers-pending"


def queue_triggers(**_) -> None:
    """Connected to the profile and membership change signals (after their commit)."""
    debounce.queue_once(TRIGGERS_KEY, read_triggers)
