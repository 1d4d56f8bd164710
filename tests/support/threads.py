"""Work run in threads that each use their own database connection (closed at the end,
so the test database can be flushed), as separate workers would."""

import threading

from django.db import connection


def side_by_side(work, count: int = 2, timeout: float = 60) -> None:
    """``work(n)`` for n in 0 … count-1, each in its thread, started together (a barrier)
    so that they really compete; returns when all have finished."""
    barrier = threading.Barrier(count)

    def run(n):
        try:
            barrier.wait()
            work(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)


def in_background(work) -> threading.Thread:
    """``work()`` started in a thread with its own connection; join the thread to wait."""

    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
