"""Debounced task triggers: queue a task once while a Redis flag says one is pending.

The task clears the flag before it starts its work, so whatever arrives after that
queues a new one. Redis being down never fails the caller: beat runs the same tasks
every few seconds as a safety net.

``queue_once_soon`` does the same off the caller's path: a thread of this process asks
Redis, once for however many callers asked meanwhile. The collection API answers each
event after its commit, and a Redis round trip (or a Redis stall) on every answer only
made the answer later; beat's sweep covers a process that dies with a trigger unsent.
"""

import logging
import os
import threading

from .celery import task_named
from .redis_client import client

logger = logging.getLogger(__name__)


def queue_once(key: str, task, *, seconds: int = 10, args: tuple = ()) -> None:
    """``task`` (a task or its name) queued unless the flag ``key`` says one is pending."""
    try:
        if client().set(key, "1", nx=True, ex=seconds):
            task_named(task).delay(*args)
    except Exception:
        logger.warning("could not queue %s", getattr(task, "name", task), exc_info=True)


def clear(key: str) -> None:
    try:
        client().delete(key)
    except Exception:
        logger.warning("could not clear %s", key, exc_info=True)


class _Sender:
    """One daemon thread per process that runs the triggers asked for since it last ran."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a fork has no thread, and no lock

    def _reset(self) -> None:
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.wanted: dict[str, tuple] = {}
        self.thread: threading.Thread | None = None

    def ask(self, key: str, task, seconds: int, args: tuple) -> None:
        with self.lock:
            self.wanted[key] = (task, seconds, args)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="cdp-triggers", daemon=True)
                self.thread.start()
        self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                wanted, self.wanted = self.wanted, {}
            for key, (task, seconds, args) in wanted.items():
                queue_once(key, task, seconds=seconds, args=args)


_sender = _Sender()


def queue_once_soon(key: str, task, *, seconds: int = 10, args: tuple = ()) -> None:
    """``queue_once`` from this process's trigger thread; returns at once."""
    _sender.ask(key, task, seconds, args)
