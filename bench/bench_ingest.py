"""The collection API under load, through a real gunicorn server (issue 3, "Speed and memory").

1. Batched ingestion: POST /v1/batch, 100 events a request, from concurrent keep-alive
   clients; events/s *stored* (rows counted in the events table afterwards). Baseline:
   PostgreSQL COPY of as many rows, same payloads, into an events-shaped table with a
   unique (source_id, message_id) key and a (source_id, received_at) index.
2. Single-event POST /v1/track: the most requests/s concurrent keep-alive clients get
   (closed loop), then p99 and p99.9 latency at half that rate from an open-loop client
   (fixed schedule, latency from the scheduled send time), per round and the worst round
   as the figure. Baseline: bench/bare_wsgi.py, a WSGI app answering 200, under the same
   gunicorn settings and the same load.
3. Memory: web worker RSS sampled during a sustained open-loop load (CDP_BENCH_SOAK_SECONDS,
   default 60; 600 for the issue's 10 minutes); growth from the first to the last quarter,
   next to the bare app's growth under the same load.

Rounds of figure and baseline alternate so both see the same machine noise. Settings:
CDP_BENCH_ROUNDS (3), CDP_BENCH_WORKERS / CDP_BENCH_THREADS (4 / 2), CDP_BENCH_NO_WRK=1 to
use the Python client instead of wrk for the closed-loop /v1/track run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

from bench import loadgen, server
from bench.common import Row, percentile, progress
from integrations import services

ROUNDS = int(os.environ.get("CDP_BENCH_ROUNDS", "3"))
BATCH_SIZE = 100
BATCH_REQUESTS = int(os.environ.get("CDP_BENCH_BATCH_REQUESTS", "300"))  # per round
BATCH_CONNECTIONS = 8  # as many as the server has threads (4 workers x 2)
TRACK_SECONDS = float(os.environ.get("CDP_BENCH_TRACK_SECONDS", "6"))
TRACK_CONNECTIONS = 16
LATENCY_SECONDS = float(os.environ.get("CDP_BENCH_LATENCY_SECONDS", "10"))
LATENCY_CONNECTIONS = 32  # open loop: enough that none waits on its own previous request
# Rounds of the open loop, each against the CDP then the bare app: the worst round is the
# figure, so that one lucky round cannot hide the tail.
LATENCY_ROUNDS = int(os.environ.get("CDP_BENCH_LATENCY_ROUNDS", "4"))
SLOW = 0.020  # seconds: each round also says how many answers took longer
SOAK_SECONDS = float(os.environ.get("CDP_BENCH_SOAK_SECONDS", "60"))
SOAK_SHARE = 0.25  # of the best /v1/track rate; a batch of 100 every 50 requests (~40% load)

COPY_TABLE = "bench_copy_events"
# The baseline table is the events table's own shape (columns, defaults, indexes), taken
# from it so that the two cannot drift apart, plus the (source, messageId) unique key that
# the API pays for in its dedupe table.
COPY_DDL = f"""
DROP TABLE IF EXISTS {COPY_TABLE};
CREATE TABLE {COPY_TABLE} (LIKE integrations_event INCLUDING ALL);
ALTER TABLE {COPY_TABLE} ADD UNIQUE (source_id, message_id);
"""
COPY_SQL = (
    f"COPY {COPY_TABLE} (source_id, type, event, user_id, anonymous_id, message_id, "
    '"timestamp", original_timestamp, sent_at, received_at, payload) FROM STDIN'
)


def run() -> list[Row]:
    source = services.create_source(name="bench ingest", kind="server", rate_limit=0)
    key = source.write_key
    log_dir = Path(
        tempfile.mkdtemp(prefix="bench-ingest-", dir=os.environ.get("CDP_VAR_DIR") or None)
    )
    env = dict(os.environ, CDP_MODE="test", PYTHONUNBUFFERED="1")
    cdp = server.Gunicorn("cdp_site.wsgi", name="cdp", env=env, log_dir=log_dir)
    bare = server.Gunicorn("bench.bare_wsgi", name="bare", env=env, log_dir=log_dir)
    print(f"  {server.settings_text()}; PostgreSQL {_pg_settings()}; logs in {log_dir}")
    try:
        cdp.start()
        bare.start()
        _warm_up(cdp, key)
        _warm_up(bare, key)
        rows = _batch(cdp, source.id, key)
        _settle()
        track_rows, track_rate = _track(cdp, bare, source.id, key)
        rows += track_rows
        rows += _soak(cdp, bare, key, rate=track_rate * SOAK_SHARE)
    except Exception:
        for srv in (cdp, bare):
            print(f"--- {srv.name} log ---\n{srv.log_tail()}")
        raise
    finally:
        cdp.stop()
        bare.stop()
    return rows


# --- helpers -------------------------------------------------------------------------


def _dsn() -> str:
    return os.environ["DATABASE_URL"]


def _pg_settings() -> str:
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        fsync = conn.execute("SHOW fsync").fetchone()[0]
        sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
    return f"fsync={fsync} synchronous_commit={sync}"


def _count_events(source_id: int) -> int:
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        query = "SELECT count(*) FROM integrations_event WHERE source_id = %s"
        return conn.execute(query, [source_id]).fetchone()[0]


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def _bar(label: str, seconds: float):
    """Progress in seconds of the run (the bar) and answers so far (the label)."""

    def show(elapsed: float, done: int) -> None:
        shown = min(max(0, int(elapsed)), int(seconds) - 1)  # the caller closes the line
        progress(shown, int(seconds), f"{label}, {done:>7,} answers, s")

    return show


def _run(load: loadgen.Load, label: str) -> loadgen.Result:
    result = loadgen.run(load, progress=_bar(label, load.duration))
    progress(int(load.duration), int(load.duration), f"{label}, {result.ok:>7,} answers, s")
    if result.errors:
        raise RuntimeError(f"{label}: {result.errors} failed requests {result.statuses}")
    return result


def _warm_up(srv: server.Gunicorn, key: str) -> None:
    """Every worker answers (imports, URLconf, DB connection) before anything is timed.

    A keep-alive connection stays with the worker that accepted it, so the warm-up opens
    fresh connections a few times over rather than one long run on the same ones.
    """
    for _ in range(4):
        load = loadgen.Load(
            port=srv.port, kind="mix", write_key=key, tag=_tag(), duration=1, connections=8
        )
        loadgen.run(load)


# --- 1. batched ingestion vs COPY --------------------------------------------------


def _copy_data(source_id: int, tag: str, rows: int) -> bytes:
    received = "2025-06-01T12:00:01.5Z"
    lines = []
    for n in range(rows):
        mid = f"{tag}-{n}"
        payload = loadgen.message(mid, n)[:-1] + (
            f',"originalTimestamp":"2025-06-01T12:00:00.000Z","receivedAt":"{received}",'
            '"sentAt":"2025-06-01T12:00:01.000Z"}'
        )
        lines.append(
            f"{source_id}\ttrack\tProduct Viewed\tuser-{n % 5000}\tanon-{n % 5000}-7f3a\t{mid}\t"
            f"2025-06-01T12:00:00.5Z\t2025-06-01T12:00:00Z\t2025-06-01T12:00:01Z\t{received}\t"
            + payload.replace("\\", "\\\\")
        )
    return ("\n".join(lines) + "\n").encode()


def _copy_round(data: bytes) -> float:
    """Seconds for COPY of ``data`` and its COMMIT on a fresh connection."""
    with psycopg.connect(_dsn()) as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
            view = memoryview(data)
            for offset in range(0, len(data), 1 << 20):
                copy.write(view[offset : offset + (1 << 20)])
        conn.commit()
        return time.perf_counter() - started


def _batch(cdp: server.Gunicorn, source_id: int, key: str) -> list[Row]:
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        conn.execute(COPY_DDL)
    events = BATCH_REQUESTS * BATCH_SIZE
    api_rates, copy_rates = [], []
    for i in range(ROUNDS):
        data = _copy_data(source_id, _tag(), events)
        copy_seconds = _copy_round(data)
        copy_rates.append(events / copy_seconds)
        before = _count_events(source_id)
        load = loadgen.Load(
            port=cdp.port,
            kind="batch",
            write_key=key,
            tag=_tag(),
            duration=120,
            connections=BATCH_CONNECTIONS,
            max_requests=BATCH_REQUESTS,
            batch_size=BATCH_SIZE,
        )
        label = f"/v1/batch round {i + 1}/{ROUNDS}"
        result = loadgen.run(
            load,
            progress=lambda _t, done, label=label: progress(done, BATCH_REQUESTS, label),
        )
        if result.errors:
            raise RuntimeError(f"batch: {result.errors} failed requests {result.statuses}")
        stored = _count_events(source_id) - before
        if stored != events:
            raise RuntimeError(f"batch: {stored} events stored for {events} sent")
        api_rates.append(stored / result.elapsed)
        print(
            f"    COPY {copy_rates[-1]:,.0f} rows/s   API {api_rates[-1]:,.0f} events/s "
            f"(p50 {percentile(result.latencies, 50) * 1000:.0f} ms/request)"
        )
    return [
        Row(
            figure=f"POST /v1/batch x{BATCH_SIZE}, {BATCH_CONNECTIONS} clients: events stored/s",
            value=max(api_rates),
            unit="ev/s",
            baseline="PostgreSQL COPY, same rows, events-table shape + unique key",
            baseline_value=max(copy_rates),
            target=">= 10,000 ev/s, ratio >= 0.25",
        )
    ]


# --- 2. single /v1/track: throughput, then p99 at half of it ------------------------


def _ensure_wrk() -> str | None:
    """wrk if installed or installable (Debian, as root, like scripts/ensure-chromium)."""
    if os.environ.get("CDP_BENCH_NO_WRK"):
        return None
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("  installing wrk (apt-get install wrk) for the closed-loop load …", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=True, capture_output=True
        )
    except (subprocess.CalledProcessError, OSError):
        print("  could not install wrk; using the Python client", flush=True)
        return None
    return shutil.which("wrk")


def _closed_track(srv: server.Gunicorn, key: str, wrk: str | None, label: str) -> float:
    load = loadgen.Load(
        port=srv.port,
        kind="track",
        write_key=key,
        tag=_tag(),
        duration=TRACK_SECONDS,
        connections=TRACK_CONNECTIONS,
    )
    if not wrk:
        return _run(load, label).rate
    result: list[loadgen.Result] = []
    script = str(srv.log_path.with_name("track.lua"))
    worker = threading.Thread(target=lambda: result.append(loadgen.wrk_track(wrk, load, script)))
    started = time.monotonic()
    worker.start()
    seconds = int(TRACK_SECONDS)
    while worker.is_alive():
        progress(min(int(time.monotonic() - started), seconds - 1), seconds, f"{label} (wrk), s")
        worker.join(0.5)
    progress(seconds, seconds, f"{label} (wrk), s")
    if not result:
        raise RuntimeError(f"{label}: wrk failed")
    if result[0].errors:
        raise RuntimeError(f"{label}: {result[0].errors} failed requests")
    return result[0].rate


def _open_loop(srv: server.Gunicorn, key: str, rate: float, label: str) -> loadgen.Result:
    load = loadgen.Load(
        port=srv.port,
        kind="track",
        write_key=key,
        tag=_tag(),
        duration=LATENCY_SECONDS,
        connections=LATENCY_CONNECTIONS,
        rate=rate,
    )
    result = _run(load, f"/v1/track {srv.name:<4} at {rate:,.0f}/s {label}")
    if result.ok < rate * LATENCY_SECONDS * 0.95:
        raise RuntimeError(f"open loop {srv.name}: only {result.ok} answers")
    return result


def _track(
    cdp: server.Gunicorn, bare: server.Gunicorn, source_id: int, key: str
) -> tuple[list[Row], float]:
    wrk = _ensure_wrk()
    client = "wrk" if wrk else "Python client"
    cdp_rates, bare_rates = [], []
    for i in range(ROUNDS):
        before = _count_events(source_id)
        cdp_rates.append(_closed_track(cdp, key, wrk, f"/v1/track CDP  {i + 1}/{ROUNDS}"))
        stored = _count_events(source_id) - before
        if stored < cdp_rates[-1] * TRACK_SECONDS * 0.9:
            raise RuntimeError(f"track: only {stored} events stored")
        bare_rates.append(_closed_track(bare, key, wrk, f"/v1/track bare {i + 1}/{ROUNDS}"))
        print(f"    CDP {cdp_rates[-1]:,.0f} req/s   bare {bare_rates[-1]:,.0f} req/s")
    best = max(cdp_rates)
    rate = best / 2
    rounds = {"cdp": [], "bare": []}  # (p99, p99.9) of each round, ms
    for i in range(LATENCY_ROUNDS):
        for srv in (cdp, bare):
            wal_before = _wal_io()
            result = _open_loop(srv, key, rate, f"{i + 1}/{LATENCY_ROUNDS}")
            tail = (
                percentile(result.latencies, 99) * 1000,
                percentile(result.latencies, 99.9) * 1000,
            )
            rounds[srv.name].append(tail)
            print(
                f"    {srv.name}: p50 {percentile(result.latencies, 50) * 1000:.1f} ms  "
                f"p99 {tail[0]:.1f} ms  p99.9 {tail[1]:.1f} ms  "
                f"{sum(1 for x in result.latencies if x > SLOW)} answers over "
                f"{SLOW * 1000:.0f} ms" + _wal_text(wal_before, _wal_io())
            )
    worst = {name: (max(t[0] for t in r), max(t[1] for t in r)) for name, r in rounds.items()}
    for name, r in rounds.items():
        shown = ", ".join(f"{p99:.1f}/{p999:.1f}" for p99, p999 in r)
        print(f"  {name} p99/p99.9 per round (ms): {shown}")
    rows = [
        Row(
            figure=f"POST /v1/track, {TRACK_CONNECTIONS} keep-alive clients ({client})",
            value=best,
            unit="req/s",
            baseline="bare WSGI app, same gunicorn + load",
            baseline_value=max(bare_rates),
            target=">= 1,500 req/s",
        ),
        Row(
            figure=f"POST /v1/track p99, open loop at {rate:,.0f} req/s, worst of "
            f"{LATENCY_ROUNDS} rounds",
            value=worst["cdp"][0],
            unit="ms",
            baseline="bare WSGI app, same rate, worst round",
            baseline_value=worst["bare"][0],
            target="<= 25 ms",
        ),
        Row(
            figure=f"POST /v1/track p99.9, open loop at {rate:,.0f} req/s, worst of "
            f"{LATENCY_ROUNDS} rounds",
            value=worst["cdp"][1],
            unit="ms",
            baseline="bare WSGI app, same rate, worst round",
            baseline_value=worst["bare"][1],
        ),
    ]
    return rows, best


def _settle() -> None:
    """A CHECKPOINT after the bulk load, before the /v1/track runs.

    What the slow answers waited on (pg_stat_activity sampled every few ms during the
    rounds, issue 12): a committing request that crosses into a new 16 MB WAL segment
    must create and zero-fill that file, holding WALWrite while every other commit waits
    (IO:WalInitWrite, IO:WalInitSync, LWLock:WALWrite): 30-70 ms stalls, a few per
    round. A running installation reuses the segments its checkpoints recycle (every
    checkpoint_timeout); a cluster created minutes ago, as here after the batch rounds,
    has had no checkpoint and creates each segment in the request path. The checkpoint
    puts the database where it is after its first minutes; the closed-loop runs that
    follow absorb the full-page writes every checkpoint brings, so the open-loop rounds
    measure the service in its normal state. Each round prints how many WAL segments
    requests had to create and how many checkpoints ran, so a round that hits either
    says so.
    """
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


# pg_stat_io has WAL rows from PostgreSQL 18 on; with an older server nothing is printed.
WAL_IO_SQL = """
SELECT coalesce(sum(fsyncs) FILTER (WHERE context = 'init'), 0)::bigint,
       (SELECT num_timed + num_requested FROM pg_stat_checkpointer)::bigint
FROM pg_stat_io WHERE object = 'wal' AND backend_type = 'client backend'
"""


def _wal_io() -> tuple | None:
    """(WAL segments created by requests, checkpoints) so far."""
    try:
        with psycopg.connect(_dsn(), autocommit=True) as conn:
            return conn.execute(WAL_IO_SQL).fetchone()
    except psycopg.Error:
        return None


def _wal_text(before: tuple | None, after: tuple | None) -> str:
    if before is None or after is None:
        return ""
    created, checkpoints = (a - b for a, b in zip(after, before, strict=True))
    return f"; {created} WAL segment(s) created by requests, {checkpoints} checkpoint(s)"


# --- 3. worker memory over a sustained load ---------------------------------------


def _soak_one(srv: server.Gunicorn, key: str, rate: float) -> tuple[float, float, float]:
    """(growth MB first → last quarter, first-quarter MB, last-quarter MB) of worker RSS."""
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append(srv.worker_rss_mb())

    load = loadgen.Load(
        port=srv.port,
        kind="mix",
        write_key=key,
        tag=_tag(),
        duration=SOAK_SECONDS,
        connections=LATENCY_CONNECTIONS,
        rate=rate,
    )
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = _run(load, f"soak {srv.name:<4} at {rate:,.0f} req/s")
    finally:
        stop.set()
        sampler.join()
    if not srv.alive():
        raise RuntimeError(f"{srv.name} server died during the soak")
    quarter = max(1, len(samples) // 4)
    first = statistics.mean(samples[:quarter])
    last = statistics.mean(samples[-quarter:])
    print(
        f"    {srv.name}: {result.ok:,} requests, workers {first:.1f} MB → {last:.1f} MB "
        f"(p99 {percentile(result.latencies, 99) * 1000:.1f} ms)"
    )
    return last - first, first, last


def _soak(cdp: server.Gunicorn, bare: server.Gunicorn, key: str, rate: float) -> list[Row]:
    cdp_growth, cdp_first, _ = _soak_one(cdp, key, rate)
    bare_growth, _, _ = _soak_one(bare, key, rate)
    return [
        Row(
            figure=(
                f"worker RSS growth over {SOAK_SECONDS:.0f}s at {rate:,.0f} req/s "
                f"(track + 1/50 batch; {cdp_first:.0f} MB at start)"
            ),
            value=cdp_growth,
            unit="MB",
            baseline="bare WSGI app, same load",
            baseline_value=bare_growth,
            target="flat (a few MB at most)",
            show_ratio=False,
        )
    ]
