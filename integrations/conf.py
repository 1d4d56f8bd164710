"""Tunables of the collection API, each overridable in settings (defaults here)."""

import os

from django.conf import settings

DEFAULTS = {
    "COLLECT_MAX_MESSAGE_BYTES": 32 * 1024,
    "COLLECT_MAX_BATCH_BYTES": 500 * 1024,
    "COLLECT_MAX_BATCH_MESSAGES": 2500,
    "COLLECT_MAX_DEPTH": 32,
    "COLLECT_REJECTED_RETENTION_DAYS": 7,
    "COLLECT_PROCESS_BATCH_SIZE": 500,
    # settings.py adds the apps' steps after this one (profiles: identity resolution).
    "COLLECT_PROCESSING_STEPS": ["integrations.processing.count_events_per_minute"],
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def processing_delay() -> float:
    """Seconds to sleep inside a processing batch: only the worker-kill test sets it."""
    return float(os.environ.get("CDP_TEST_PROCESSING_DELAY", "0") or 0)
