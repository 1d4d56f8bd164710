"""Shared pieces of the benchmarks: a fresh database, timing, progress and the table row."""

import os
import sys
import time
from dataclasses import dataclass

BENCH_DATABASE = "cdp_bench"


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    target: str = ""
    show_ratio: bool = True  # False where value/baseline means nothing (e.g. growth near 0)

    @property
    def value_text(self) -> str:
        return f"{self.value:,.1f} {self.unit}"

    @property
    def baseline_text(self) -> str:
        return f"{self.baseline_value:,.1f} {self.unit}"

    @property
    def ratio_text(self) -> str:
        if not self.show_ratio or not self.baseline_value:
            return "n/a"
        return f"{self.value / self.baseline_value:.2f}"


def setup_django() -> None:
    """Django on its own database (created and migrated here), never the demo's data."""
    os.environ.setdefault("CDP_MODE", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings")
    # Throttles still run (their cost is part of each figure) but never trigger.
    os.environ.setdefault("API_THROTTLE_USER", "100000000/min")
    os.environ.setdefault("API_THROTTLE_ANON", "100000000/min")
    import django
    import environ

    url = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    url_without_db = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    os.environ["DATABASE_URL"] = f"{url_without_db}/{BENCH_DATABASE}"
    _recreate_database(url, BENCH_DATABASE)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def no_processing_tasks() -> None:
    """Keeps ingestion from queueing processing tasks: the benchmark drains the inbox
    itself, in its own process."""
    from cdp_site.redis_client import client
    from integrations.services import TRIGGER_KEY

    try:
        client().set(TRIGGER_KEY, "1", ex=24 * 3600)
    except Exception as exc:  # without Redis nothing is queued anyway
        print(f"  (processing flag not set: {exc})")


def _recreate_database(url: dict, name: str) -> None:
    import psycopg
    from psycopg import sql

    dsn = {
        "host": url["HOST"],
        "port": url["PORT"] or 5432,
        "user": url["USER"],
        "password": url["PASSWORD"] or None,
        "dbname": url["NAME"],
    }
    with psycopg.connect(**{k: v for k, v in dsn.items() if v}, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def progress(done: int, total: int, label: str = "") -> None:
    """A one-line progress bar on stderr."""
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def timed_runs(fn, *, repeat: int) -> list[float]:
    """Seconds of each call of ``fn`` (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def latency_rows(
    figure: str,
    ms: list[float],
    *,
    baseline: str,
    baseline_ms: list[float],
    target: str,
    tail: int = 99,
) -> list[Row]:
    """The usual pair of rows for a latency: p50 beside the baseline's p50, and the tail
    (p99, or the percentile the target names) beside the baseline's."""
    return [
        Row(
            figure=f"{figure}: p{pct}",
            value=percentile(ms, pct),
            unit="ms",
            baseline=f"{baseline}, p{pct}",
            baseline_value=percentile(baseline_ms, pct),
            target=target if pct == tail else "",
        )
        for pct in (50, tail)
    ]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def rolled_back(statement: str, params) -> float:
    """Seconds one statement takes in a transaction then rolled back (a baseline that
    leaves the data as it was)."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds
