"""Debounced task triggers: queue a task once while a Redis flag says one is pending.

The task clears the flag before it starts its work, so whatever arrives after that
queues a new one. Redis being down never fails the caller: beat runs the same tasks
every few seconds as a safety net.
"""

import logging

from .redis_client import client

logger = logging.getLogger(__name__)


def queue_once(key: str, task, *, seconds: int = 10, args: tuple = ()) -> None:
    try:
        if client().set(key, "1", nx=True, ex=seconds):
            task.delay(*args)
    except Exception:
        logger.warning("could not queue %s", task.name, exc_info=True)


def clear(key: str) -> None:
    try:
        client().delete(key)
    except Exception:
        logger.warning("could not clear %s", key, exc_info=True)
