"""The personalisation API under load: GET /v1/personalize through a real gunicorn server.

Data: CDP_BENCH_P13N_PROFILES profiles (default 50,000; the issue asks up to 1,000,000),
written with COPY: a stage each, a ``plan`` trait, one anonymous id each
(``p13n-anon-<n>``), 60 % with personalisation consent granted; a website source that
shows the stage and the plan. Then the cache is built by the product's own rebuild
(campaigns/personalization/cache.py), timed and printed.

1. Throughput: the most requests/s concurrent keep-alive clients get (closed loop), over
   ids spread across all profiles (60 % cached answers, 40 % misses: the empty answer).
2. Latency: p99 at half that rate from an open-loop client (fixed schedule, latency from
   the scheduled send time), per round, the worst round as the figure.

Baseline for both: bench/bare_cached_wsgi.py, a WSGI app doing the same one Redis HGET and
nothing else, under the same gunicorn settings and the same load, rounds alternating.
Settings: CDP_BENCH_ROUNDS (3), CDP_BENCH_P13N_SECONDS (6), CDP_BENCH_LATENCY_SECONDS (10),
CDP_BENCH_LATENCY_ROUNDS (3).
"""

from __future__ import annotations

import io
import json
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.db import connection

from bench import loadgen, server
from bench.common import Row, percentile, progress
from bench.segments_data import IDENTITY_COPY, reserve_ids
from campaigns.personalization import cache, settings
from cdp_site.redis_client import client
from integrations import services
from profiles.models import IdentifierKind

PROFILES = int(os.environ.get("CDP_BENCH_P13N_PROFILES", "50000"))
ROUNDS = int(os.environ.get("CDP_BENCH_ROUNDS", "3"))
SECONDS = float(os.environ.get("CDP_BENCH_P13N_SECONDS", "6"))
CONNECTIONS = 16
LATENCY_SECONDS = float(os.environ.get("CDP_BENCH_LATENCY_SECONDS", "10"))
LATENCY_ROUNDS = int(os.environ.get("CDP_BENCH_LATENCY_ROUNDS", "3"))
LATENCY_CONNECTIONS = 32
CONSENTING = 0.6
COPY_CHUNK = 100_000
STAGES = ["orientation", "consideration", "acquisition", "retention", "lapsed", ""]
PLANS = ["free", "plus", "gold"]
GRANTED = json.dumps({"personalisation": {"status": "granted", "at": "2026-01-01T00:00:00Z"}})


def run() -> list[Row]:
    source = services.create_source(name="bench personalize", kind="website", rate_limit=0)
    _load(source.id)
    settings.save_settings(source=source, segment_ids=[], traits=["plan"], stage=True, origins=[])
    started = time.perf_counter()
    cache.rebuild()
    built = time.perf_counter() - started
    cached = sum(1 for _ in client().scan_iter(match="cdp:p13n:a:*", count=10_000))
    rate = PROFILES / built
    print(f"  cache rebuilt in {built:.1f}s ({rate:,.0f} profiles/s), {cached:,} answers")
    log_dir = Path(
        tempfile.mkdtemp(prefix="bench-p13n-", dir=os.environ.get("CDP_VAR_DIR") or None)
    )
    env = dict(os.environ, CDP_MODE="test", PYTHONUNBUFFERED="1")
    env["CDP_BENCH_P13N_SOURCE"] = str(source.id)
    cdp = server.Gunicorn("cdp_site.wsgi", name="cdp", env=env, log_dir=log_dir)
    bare = server.Gunicorn("bench.bare_cached_wsgi", name="bare", env=env, log_dir=log_dir)
    print(f"  {server.settings_text()}; {PROFILES:,} profiles; logs in {log_dir}")
    try:
        cdp.start()
        bare.start()
        for srv in (cdp, bare):
            _warm_up(srv, source.write_key)
        return _in_process(source) + _measure(cdp, bare, source.write_key)
    except Exception:
        for srv in (cdp, bare):
            print(f"--- {srv.name} log ---\n{srv.log_tail()}")
        raise
    finally:
        cdp.stop()
        bare.stop()
        _drop_cache()


# --- data ------------------------------------------------------------------------------


def _rows(first: int, first_identity: int, kind_id: int, offset: int, count: int, rng):
    stamp = datetime.now(UTC).isoformat()
    profiles, identities = [], []
    for i in range(offset, offset + count):
        pid = first + i
        traits = json.dumps({"plan": PLANS[i % 3], "email": f"p{i}@mail.example"})
        consent = GRANTED if rng.random() < CONSENTING else "{}"
        stage = STAGES[rng.randrange(len(STAGES))]
        profiles.append(f"{pid}\t\t{stage}\t{traits}\t{{}}\t{consent}\t{stamp}\t{stamp}\n")
        identities.append(
            f"{first_identity + i}\t{kind_id}\t{loadgen.ID_PREFIX}{i}\t{pid}\t{stamp}\t{stamp}"
            f"\t{stamp}\n"
        )
    return profiles, identities


def _load(source_id: int) -> None:
    started = time.perf_counter()
    rng = random.Random(18)
    kind_id = IdentifierKind.objects.get(name="anonymous_id").id
    with connection.cursor() as cursor:
        first, first_identity = reserve_ids(cursor, PROFILES)
        raw = cursor.cursor
        for offset in range(0, PROFILES, COPY_CHUNK):
            n = min(COPY_CHUNK, PROFILES - offset)
            profiles, identities = _rows(first, first_identity, kind_id, offset, n, rng)
            with raw.copy(
                "COPY profiles_profile (id, display_name, stage, traits, computed, consent, "
                "created_at, updated_at) FROM STDIN"
            ) as copy:
                copy.write("".join(profiles))
            with raw.copy(IDENTITY_COPY) as copy:
                copy.write("".join(identities))
            progress(offset + n, PROFILES, "COPY profiles")
        for table in ("profiles_profile", "profiles_identity"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"  {PROFILES:,} profiles loaded in {time.perf_counter() - started:.1f}s", flush=True)


def _drop_cache() -> None:
    redis = client()
    batch = []
    for key in redis.scan_iter(match="cdp:p13n:*", count=10_000):
        batch.append(key)
        if len(batch) >= 10_000:
            redis.unlink(*batch)
            batch = []
    if batch:
        redis.unlink(*batch)


# --- in process: the cost of one request without the machine's noise ---------------------

IN_PROCESS_REQUESTS = int(os.environ.get("CDP_BENCH_P13N_IN_PROCESS", "20000"))


def _environ(key: str, n: int) -> dict:
    query = f"writeKey={key}&anonymousId={loadgen.ID_PREFIX}{(n * 2654435761) % PROFILES}"
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/v1/personalize",
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
    }


def _per_request(app, key: str) -> float:
    """Microseconds a request, the WSGI app called in this process."""
    statuses = []

    def start_response(status, headers):
        statuses.append(status)

    started = time.perf_counter()
    for n in range(IN_PROCESS_REQUESTS):
        b"".join(app(_environ(key, n), start_response))
    if any(not s.startswith("200") for s in statuses):
        raise RuntimeError(f"in process: {sorted(set(statuses))}")
    return (time.perf_counter() - started) / IN_PROCESS_REQUESTS * 1e6


def _in_process(source) -> list[Row]:
    os.environ["CDP_BENCH_P13N_SOURCE"] = str(source.id)
    from bench import bare_cached_wsgi
    from cdp_site.wsgi import application

    cdp, bare = (
        _per_request(application, source.write_key),
        _per_request(bare_cached_wsgi.application, source.write_key),
    )
    print(f"  in process: CDP {cdp:.0f} µs a request, bare {bare:.0f} µs")
    return [
        Row(
            figure=f"GET /v1/personalize in process (WSGI call, one thread), {PROFILES:,} profiles",
            value=cdp,
            unit="µs/req",
            baseline="bare WSGI app doing the same Redis HGET, same calls",
            baseline_value=bare,
        )
    ]


# --- load --------------------------------------------------------------------------------


def _load_spec(srv: server.Gunicorn, key: str, *, duration: float, connections: int, rate=None):
    return loadgen.Load(
        port=srv.port,
        kind="personalize",
        write_key=key,
        tag=uuid.uuid4().hex[:10],
        duration=duration,
        connections=connections,
        rate=rate,
        ids=PROFILES,
    )


def _run(load: loadgen.Load, label: str) -> loadgen.Result:
    seconds = int(load.duration)

    def show(elapsed: float, done: int) -> None:
        progress(min(max(0, int(elapsed)), seconds - 1), seconds, f"{label}, {done:>7,} answers")

    result = loadgen.run(load, progress=show)
    progress(seconds, seconds, f"{label}, {result.ok:>7,} answers")
    if result.errors:
        raise RuntimeError(f"{label}: {result.errors} failed requests {result.statuses}")
    return result


def _warm_up(srv: server.Gunicorn, key: str) -> None:
    for _ in range(3):  # fresh connections reach every worker
        loadgen.run(_load_spec(srv, key, duration=1, connections=8))


def _measure(cdp: server.Gunicorn, bare: server.Gunicorn, key: str) -> list[Row]:
    rates = {"cdp": [], "bare": []}
    for i in range(ROUNDS):
        for srv in (cdp, bare):
            load = _load_spec(srv, key, duration=SECONDS, connections=CONNECTIONS)
            rates[srv.name].append(_run(load, f"closed {srv.name:<4} {i + 1}/{ROUNDS}").rate)
        print(f"    CDP {rates['cdp'][-1]:,.0f} req/s   bare {rates['bare'][-1]:,.0f} req/s")
    best = max(rates["cdp"])
    rate = best / 2
    tails = {"cdp": [], "bare": []}
    for i in range(LATENCY_ROUNDS):
        for srv in (cdp, bare):
            load = _load_spec(
                srv, key, duration=LATENCY_SECONDS, connections=LATENCY_CONNECTIONS, rate=rate
            )
            result = _run(load, f"open {srv.name:<4} at {rate:,.0f}/s {i + 1}/{LATENCY_ROUNDS}")
            if result.ok < rate * LATENCY_SECONDS * 0.95:
                raise RuntimeError(f"open loop {srv.name}: only {result.ok} answers")
            tails[srv.name].append(percentile(result.latencies, 99) * 1000)
            print(
                f"    {srv.name}: p50 {percentile(result.latencies, 50) * 1000:.1f} ms  "
                f"p99 {tails[srv.name][-1]:.1f} ms"
            )
    size = f"{PROFILES:,} profiles"
    return [
        Row(
            figure=f"GET /v1/personalize, {CONNECTIONS} keep-alive clients, {size}",
            value=best,
            unit="req/s",
            baseline="bare WSGI app doing the same Redis HGET, same gunicorn + load",
            baseline_value=max(rates["bare"]),
            target=">= 2,000 req/s",
        ),
        Row(
            figure=f"GET /v1/personalize p99, open loop at {rate:,.0f} req/s, worst of "
            f"{LATENCY_ROUNDS} rounds, {size}",
            value=max(tails["cdp"]),
            unit="ms",
            baseline="bare cached app, same rate, worst round",
            baseline_value=max(tails["bare"]),
        ),
    ]
