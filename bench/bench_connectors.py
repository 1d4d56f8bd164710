"""Pull connectors (issue 15): how fast a sync stores records, and whether a long sync
keeps the worker's memory flat.

The runs are driven slice by slice in this one process (``sync.run_slice``, what the
Celery task calls), so what is measured is the connector path itself: read a page, map
it, store it durably with its cursor in one transaction. The inbox is then drained with
``process_inbox_batch`` (stored → processed), reported on its own.

1. Generic REST connector against the local JSON API imitation (demo/imitations/rest.py),
   pages of 100 records. Figure: records/s stored durably. Baseline: records/s of fetching
   the same pages through the same outgoing client and parsing them, storing nothing.
   Then the processing rate of those records (baseline: the stored rate). The imitation
   runs in this process and sorts all its records on every request, so its own cost grows
   with CDP_BENCH_CONN_API_RECORDS: the baseline says where it starts to bound the sync.
2. SQL connector on a local PostgreSQL table (a database of its own on the same server,
   with the (updated_at, id) index the connector's help asks for), pages of 5,000 rows.
   Figure: rows/s stored durably. Baseline: ``COPY (SELECT … ORDER BY updated_at, id) TO
   STDOUT`` of the same table, in the same run. Then the processing rate.
3. Worker memory over a long SQL sync: RSS (VmRSS) after every slice; start, peak and end
   are printed, the figure is the peak's growth over the start. Baseline: the growth
   while the same rows are streamed with COPY in the same process.

Scale: CDP_BENCH_CONN_SCALE=quick (the default: 10,000 API records, 50,000 rows, 100,000
rows for memory) or full (100,000, 1,000,000 and 1,000,000); each count can be set on its
own with CDP_BENCH_CONN_API_RECORDS, CDP_BENCH_CONN_SQL_ROWS, CDP_BENCH_CONN_MEMORY_ROWS.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from bench.common import Row, no_processing_tasks, progress
from demo.imitations import rest as rest_api
from integrations import outbound, processing
from integrations.connectors import services, sync
from integrations.connectors.models import SyncRun

SCALES = {"quick": (10_000, 50_000, 100_000), "full": (100_000, 1_000_000, 1_000_000)}
_SCALE = SCALES[os.environ.get("CDP_BENCH_CONN_SCALE", "quick")]
API_RECORDS = int(os.environ.get("CDP_BENCH_CONN_API_RECORDS", _SCALE[0]))
SQL_ROWS = int(os.environ.get("CDP_BENCH_CONN_SQL_ROWS", _SCALE[1]))
MEMORY_ROWS = int(os.environ.get("CDP_BENCH_CONN_MEMORY_ROWS", _SCALE[2]))
API_PAGE = 100
SQL_PAGE = 5000
SOURCE_DATABASE = "cdp_bench_erp"
BASE = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "bench-" + "token"  # the imitation's, not a secret
NO_BUDGET = 10**9  # requests a minute: the bench measures the path, not the politeness


def run() -> list[Row]:
    no_processing_tasks()
    print(
        f"  {API_RECORDS:,} API records, {SQL_ROWS:,} SQL rows, {MEMORY_ROWS:,} rows for memory",
        flush=True,
    )
    rows = _rest()
    try:
        rows += _sql()
        rows += _memory()
    finally:
        _drop_source_database()
    return rows


def _drive(run: SyncRun, *, label: str, total: int, page: int, each_slice=None) -> SyncRun:
    """Every slice of ``run`` in turn, as the task would queue them (no waiting: the
    bench's connections have no request budget); progress counted in pages."""
    seq, slices = 0, 0
    while seq is not None:
        step = sync.run_slice(run_id=run.id, seq=seq)
        if step.delay:
            raise RuntimeError(f"{label}: the run asked to wait ({step})")
        seq, slices = step.seq, slices + 1
        progress(min(slices * page, total), total, label)
        if each_slice:
            each_slice(slices * page)
    progress(total, total, label)
    run.refresh_from_db()
    if run.status != SyncRun.Status.SUCCEEDED:
        raise RuntimeError(f"{label}: the run ended {run.status}: {run.error}")
    return run


def _queued_run(connection) -> SyncRun:
    """A run, queued before the clock starts: queueing its first task loads the worker's
    task modules once in this process (a second or so), which a running worker has done
    long before; the figure is what storing the records costs."""
    return services.start_run(connection=connection)


def _cpu(seconds: float, records: int) -> str:
    """This process's own CPU time: on a shared machine the wall time also holds waiting
    for a core and for PostgreSQL's backend."""
    return f"this process's CPU {seconds:.1f}s, {1e6 * seconds / max(records, 1):.0f} µs a record"


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def _process(expected: int, label: str) -> tuple[int, float]:
    done, started = 0, time.perf_counter()
    while count := processing.process_inbox_batch():
        done += count
        progress(min(done, expected), expected, label)
    progress(expected, expected, label)
    return done, time.perf_counter() - started


# --- 1. REST ---------------------------------------------------------------------------


def _record(n: int) -> dict:
    updated = (BASE + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
    return {
        "id": f"r{n}",
        "email": f"person{n}@example.com",
        "first_name": "Ann",
        "plan": ("free", "pro", "team")[n % 3],
        "updated_at": updated,
    }


def _raw_fetch(url: str) -> tuple[int, float]:
    """Every page as the connector asks for it, fetched and parsed, stored nowhere."""
    pages = -(-API_RECORDS // API_PAGE)
    records, started = 0, time.perf_counter()
    for page in range(1, pages + 1):
        response = outbound.request(
            "GET",
            f"{url}customers?page={page}&per_page={API_PAGE}",
            headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
            timeout=30,
        )
        records += len(sync.Reader.parse(response)["data"])
    return records, time.perf_counter() - started


def _rest() -> list[Row]:
    api = rest_api.start(records=[_record(n) for n in range(API_RECORDS)], token=TOKEN)
    try:
        fetched, fetch_seconds = _raw_fetch(api.url)
        connection = services.create_connection(
            name="bench REST",
            kind="rest",
            base_url=api.url,
            config=rest_api.connector_config(page_size=API_PAGE, auth="bearer"),
            secrets={"token": TOKEN},
            schedule_minutes=0,
            request_budget=NO_BUDGET,
        )
        run, store_seconds, cpu = _timed_sync(connection, "REST", total=fetched, page=API_PAGE)
    finally:
        api.stop()
    return _stored_and_processed(
        run,
        label="REST",
        store_seconds=store_seconds,
        cpu=cpu,
        unit="rec/s",
        figure=f"REST sync, pages of {API_PAGE}: records/s stored durably ({run.stored:,})",
        baseline=("the same pages fetched and parsed, not stored", fetched, fetch_seconds),
        target=">= 2,000 rec/s",
    )


def _timed_sync(connection, label: str, *, total: int, page: int) -> tuple[SyncRun, float, float]:
    """(the run, its wall seconds, this process's CPU seconds), timed from queued
    (_queued_run) to every record stored."""
    queued = _queued_run(connection)
    started, cpu = time.perf_counter(), time.process_time()
    run = _drive(queued, label=f"{label} sync", total=total, page=page)
    return run, time.perf_counter() - started, time.process_time() - cpu


def _stored_and_processed(
    run, *, label, store_seconds, cpu, unit, figure, baseline, target
) -> list[Row]:
    """The inbox drained (stored → processed), a line of detail, and the two rows."""
    processed, process_seconds = _process(run.stored, f"{label} processing")
    what, count, seconds = baseline
    print(
        f"  {label}: baseline {count:,} in {seconds:.2f}s; stored {run.stored:,} in "
        f"{run.pages} slices in {store_seconds:.1f}s ({_cpu(cpu, run.stored)}); processed "
        f"{processed:,} in {process_seconds:.1f}s; {_load()}",
        flush=True,
    )
    stored_rate = run.stored / store_seconds
    return [
        Row(
            figure=figure,
            value=stored_rate,
            unit=unit,
            baseline=what,
            baseline_value=count / seconds,
            target=target,
        ),
        Row(
            figure=f"{label} sync: those records processed (inbox → profiles)",
            value=processed / process_seconds,
            unit=unit,
            baseline="the stored rate above",
            baseline_value=stored_rate,
        ),
    ]


# --- 2. SQL ----------------------------------------------------------------------------


def _server() -> dict:
    from django.db import connection

    settings = connection.settings_dict
    return {
        "host": settings["HOST"],
        "port": int(settings["PORT"] or 5432),
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
    }


def _source_db(*, autocommit: bool = True, dbname: str = SOURCE_DATABASE) -> psycopg.Connection:
    args = {k: v for k, v in _server().items() if v is not None}
    return psycopg.connect(**args, dbname=dbname, autocommit=autocommit)


def _fill(table: str, count: int) -> None:
    """A point-of-sale-like table of ``count`` rows, one second apart, and its index."""
    with _source_db() as conn:
        name = sql.Identifier(table)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
        conn.execute(
            sql.SQL(
                """CREATE TABLE {} (
                    id bigint PRIMARY KEY, email text, name text, store text,
                    total numeric(12, 2), items integer, updated_at timestamptz NOT NULL)"""
            ).format(name)
        )
        conn.execute(
            sql.SQL(
                """INSERT INTO {} SELECT n, 'buyer' || n || '@example.com', 'Buyer ' || n,
                       'store-' || n %% 40, (n %% 997) * 1.5, 1 + n %% 7,
                       %s + make_interval(secs => n)
                   FROM generate_series(1, %s) AS n"""
            ).format(name),
            [BASE, count],
        )
        conn.execute(sql.SQL("CREATE INDEX ON {} (updated_at, id)").format(name))
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(name))


def _copy_out(table: str, each_block=None) -> tuple[int, float]:
    """Rows/s of COPY (SELECT … ORDER BY updated_at, id) TO STDOUT, read and counted."""
    statement = sql.SQL("COPY (SELECT * FROM {} ORDER BY updated_at, id) TO STDOUT").format(
        sql.Identifier(table)
    )
    rows, started = 0, time.perf_counter()
    with _source_db() as conn, conn.cursor() as cur, cur.copy(statement) as copy:
        for block in copy:
            rows += bytes(block).count(b"\n")
            if each_block:
                each_block(rows)
    return rows, time.perf_counter() - started


def _sql_connection(table: str):
    server = _server()
    return services.create_connection(
        name=f"bench SQL {table}",
        kind="sql",
        base_url=f"postgresql://{server['host']}:{server['port']}/{SOURCE_DATABASE}",
        config={
            "user": server["user"],
            "table": table,
            "key_column": "id",
            "cursor_column": "updated_at",
            "page_size": SQL_PAGE,
        },
        secrets={"password": server["password"] or ""},
        streams={
            "rows": {
                "rules": "userId = $.id\ntraits.email = $.email\ntraits.name = $.name\n"
                "traits.store = $.store\ntimestamp = $.updated_at"
            }
        },
        schedule_minutes=0,
    )


def _drop_source_database() -> None:
    with _source_db(dbname="postgres") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(SOURCE_DATABASE)
            )
        )


def _ensure_source_database() -> None:
    _drop_source_database()
    with _source_db(dbname="postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(SOURCE_DATABASE)))


def _sql() -> list[Row]:
    _ensure_source_database()
    _fill("sales", SQL_ROWS)
    copied, copy_seconds = _copy_out("sales")
    connection = _sql_connection("sales")
    run, store_seconds, cpu = _timed_sync(connection, "SQL", total=SQL_ROWS, page=SQL_PAGE)
    return _stored_and_processed(
        run,
        label="SQL",
        store_seconds=store_seconds,
        cpu=cpu,
        unit="rows/s",
        figure=f"SQL sync, pages of {SQL_PAGE:,}: rows/s stored durably ({run.stored:,})",
        baseline=("COPY (SELECT …) TO STDOUT of the same table", copied, copy_seconds),
        target=">= 10,000 rows/s",
    )


# --- 3. memory -------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Samples:
    def __init__(self):
        self.start = rss_mb()
        self.peak = self.start
        self.end = self.start
        self.trace: list[tuple[int, float]] = []

    def __call__(self, done: int) -> None:
        self.end = rss_mb()
        self.peak = max(self.peak, self.end)
        self.trace.append((done, self.end))

    def text(self) -> str:
        return f"start {self.start:.1f} MB, peak {self.peak:.1f} MB, end {self.end:.1f} MB"


def _memory() -> list[Row]:
    _fill("tickets", MEMORY_ROWS)
    copy_memory = Samples()
    _copy_out("tickets", each_block=copy_memory)
    connection = _sql_connection("tickets")
    sync_memory = Samples()
    run = _drive(
        services.start_run(connection=connection),
        label="long SQL sync",
        total=MEMORY_ROWS,
        page=SQL_PAGE,
        each_slice=sync_memory,
    )
    step = max(1, len(sync_memory.trace) // 10)
    trace = ", ".join(f"{n // 1000:,}k: {mb:.0f}" for n, mb in sync_memory.trace[::step])
    print(f"  memory, long sync of {run.stored:,} rows: {sync_memory.text()}", flush=True)
    print(f"  RSS (MB) by rows read: {trace}", flush=True)
    print(f"  memory, COPY of the same rows: {copy_memory.text()}", flush=True)
    return [
        Row(
            figure=f"Long SQL sync of {run.stored:,} rows: worker RSS peak growth "
            f"({sync_memory.text()})",
            value=sync_memory.peak - sync_memory.start,
            unit="MB",
            baseline="COPY of the same rows in the same process",
            baseline_value=copy_memory.peak - copy_memory.start,
            target="< 50 MB",
            show_ratio=False,
        )
    ]
