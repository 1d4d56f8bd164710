"""Identity resolution and profile reads at scale (issue 4, "Unify").

1. Processing rate: the demo shop's message mix (website, app, CRM, tills, ERP, e-mail
   platform; the simulation in demo, without HTTP) is stored with
   ``ingest_messages`` and the inbox is then drained with ``process_inbox_batch`` in this
   one process (every step: per-minute counts and identity resolution with traits,
   consent, computed traits and stage). Figure: events/s processed. Baseline: events/s
   stored by ``ingest_messages`` for the same messages, in the same run.
1b. The same with one bad event in every 500 (a step raises on it, as a data error
   would): each batch is halved until the bad event fails alone and is quarantined.
   Figure: events/s processed. Baseline: the clean rate of 1.
2. Lookup by any identifier at CDP_BENCH_PROFILES profiles (1,000,000) and three
   identities each, written with COPY straight into the tables (the data generator; the
   pipeline is not what is measured here), then ANALYZE. Figure: p50 / p99 of
   identifier (kind + value) → profile through the ORM. Baseline: a raw primary-key
   SELECT on the profile table, same run, same random draw.
3. Search by identifier or name prefix on the same tables (profiles.selectors
   .search_profiles). Baseline: the same raw primary-key SELECT.

Settings: CDP_BENCH_PROFILE_EVENTS (100000), CDP_BENCH_PROFILES (1000000),
CDP_BENCH_LOOKUPS (2000), CDP_BENCH_SEARCHES (300).
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.test.utils import override_settings

from bench.common import Row, latency_rows, no_processing_tasks, progress
from demo.load import signing_secrets
from demo.sources import ensure_demo_sources
from demo.world import FILE_CHANNELS, World
from integrations import processing, services
from integrations.collect.verification import claims, sign
from integrations.models import QuarantinedEvent
from profiles.models import IdentifierKind, Identity, Merge, Profile
from profiles.selectors import active_profile_id, search_profiles

EVENTS = int(os.environ.get("CDP_BENCH_PROFILE_EVENTS", "100000"))
PROFILES = int(os.environ.get("CDP_BENCH_PROFILES", "1000000"))
LOOKUPS = int(os.environ.get("CDP_BENCH_LOOKUPS", "2000"))
SEARCHES = int(os.environ.get("CDP_BENCH_SEARCHES", "300"))
INGEST_CHUNK = 500  # messages per ingest_messages call, like a /v1/batch request
COPY_CHUNK = 50_000
SEED = 7

# fmt: off
FIRST = ["Ann", "Bo", "Carla", "Dev", "Emil", "Fatima", "Gus", "Hana", "Ivo", "Jana", "Karl",
         "Lena", "Mo", "Nora", "Olaf", "Pia", "Quinn", "Rosa", "Sven", "Tess"]
LAST = ["Berg", "Cruz", "Dahl", "Engel", "Fox", "Gray", "Holm", "Ito", "Jensen", "Klein", "Lund",
        "Moreau", "Novak", "Olsen", "Park", "Quist", "Rossi", "Stone", "Toft", "Vik"]
# fmt: on


BAD_EVERY = 500


def run() -> list[Row]:
    rows = _processing()
    rows += _processing_with_bad_events(clean=rows[0].value)
    rows += _lookups()
    return rows


# --- 1. processing rate ----------------------------------------------------------------


def _demo_messages(limit: int) -> list[tuple[str, dict]]:
    """The first ``limit`` messages of the demo shop's HTTP channels, in story order."""
    world = World(seed=42, customers=max(100, limit // 30), end=datetime(2026, 11, 1, tzinfo=UTC))
    found = []
    while len(found) < limit:
        for item in world.items():
            if item.channel not in FILE_CHANNELS:
                found.append((item.channel, item.data))
                if len(found) >= limit:
                    break
        else:  # more customers than guessed: a larger world, same people first
            world = World(seed=42, customers=world.customers * 2, end=world.end)
            found = []
    return found


def _chunks(messages, sources) -> list[tuple[int, list[dict]]]:
    """Per source, batches of INGEST_CHUNK; the webshop's and the app's messages signed by
    their backends, as the demo sends them (demo.load.signing_secrets)."""
    secrets = signing_secrets(sources, list(sources))
    chunks: list[tuple[int, list[dict]]] = []
    pending: dict[str, list[dict]] = {}
    for channel, data in messages:
        if channel in secrets and claims(data):
            data = sign(data, secrets[channel])
        batch = pending.setdefault(channel, [])
        batch.append(data)
        if len(batch) >= INGEST_CHUNK:
            chunks.append((sources[channel].id, batch))
            pending[channel] = []
    chunks += [(sources[c].id, b) for c, b in pending.items() if b]
    print(f"  {len(messages):,} demo messages in {len(chunks)} ingest calls", flush=True)
    return chunks


def _store_and_process(chunks) -> tuple[int, float, int, float]:
    """(stored, seconds, processed, seconds)"""
    stored, started = 0, time.perf_counter()
    for i, (source_id, batch) in enumerate(chunks, 1):
        stored += services.ingest_messages(source_id=source_id, messages=batch).stored
        if i % 20 == 0 or i == len(chunks):
            progress(i, len(chunks), "ingest ")
    ingest_seconds = time.perf_counter() - started

    done, started = 0, time.perf_counter()
    while count := processing.process_inbox_batch():
        done += count
        progress(min(done, stored), stored, "process")
    process_seconds = time.perf_counter() - started
    progress(stored, stored, "process")
    print(
        f"  stored {stored:,} in {ingest_seconds:.1f}s, processed {done:,} in "
        f"{process_seconds:.1f}s; {_profile_counts()}",
        flush=True,
    )
    return stored, ingest_seconds, done, process_seconds


def _processing() -> list[Row]:
    sources = ensure_demo_sources()
    no_processing_tasks()
    with connection.cursor() as cursor:  # what other benchmarks stored is not ours to time
        cursor.execute("TRUNCATE integrations_eventinbox")
    chunks = _chunks(_demo_messages(EVENTS), sources)
    stored, ingest_seconds, done, process_seconds = _store_and_process(chunks)
    return [
        Row(
            figure=f"Resolution: process_inbox_batch, demo mix, {done:,} events (1 process)",
            value=done / process_seconds,
            unit="ev/s",
            baseline="ingest_messages of the same events",
            baseline_value=stored / ingest_seconds,
            target=">= 5,000 ev/s",
        )
    ]


def fail_on_bad_events(batch) -> None:
    """A processing step that raises on the marked events, as a data error would."""
    for event in batch.events():
        if (event["payload"].get("properties") or {}).get("benchBad"):
            raise ValueError(f"bad event {event['id']}")


def _processing_with_bad_events(*, clean: float) -> list[Row]:
    count = min(EVENTS, 20_000)
    messages = []
    for i, (channel, data) in enumerate(_demo_messages(count)):
        data = {**data, "messageId": f"bad-run-{i}"}
        if i % BAD_EVERY == BAD_EVERY // 2:
            data["properties"] = {**(data.get("properties") or {}), "benchBad": True}
        messages.append((channel, data))
    chunks = _chunks(messages, ensure_demo_sources())
    steps = [*settings.COLLECT_PROCESSING_STEPS, "bench.bench_profiles.fail_on_bad_events"]
    with override_settings(COLLECT_PROCESSING_STEPS=steps):
        _, _, done, seconds = _store_and_process(chunks)
    print(f"  quarantined {QuarantinedEvent.objects.count():,}", flush=True)
    return [
        Row(
            figure=f"Resolution with 1 bad event per {BAD_EVERY} (quarantined), {done:,} events",
            value=done / seconds,
            unit="ev/s",
            baseline="the clean demo mix above",
            baseline_value=clean,
        )
    ]


def _profile_counts() -> str:
    return (
        f"{Profile.objects.filter(merged_into__isnull=True).count():,} active profiles, "
        f"{Identity.objects.count():,} identities, {Merge.objects.count():,} merges"
    )


# --- 2./3. lookups at 1M profiles ------------------------------------------------------


def _generate(count: int) -> tuple[int, dict[str, int]]:
    """COPYs ``count`` profiles and three identities each (user id, e-mail, anonymous id);
    returns the first profile id and the kind ids."""
    kinds = dict(IdentifierKind.objects.values_list("name", "id"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('profiles_profile_id_seq')")
        first = cursor.fetchone()[0]
        cursor.execute("SELECT nextval('profiles_identity_id_seq')")
        first_identity = cursor.fetchone()[0]
    now = datetime.now(UTC).isoformat()
    raw = connection.connection  # the psycopg connection under Django's
    profile_sql = (
        "COPY profiles_profile (id, display_name, stage, traits, computed, consent, "
        "first_seen_at, last_seen_at, created_at, updated_at) FROM STDIN"
    )
    identity_sql = (
        "COPY profiles_identity (id, kind_id, value, profile_id, first_seen_at, "
        "last_seen_at, created_at) FROM STDIN"
    )
    rng = random.Random(SEED)
    identity_id = first_identity
    started = time.perf_counter()
    with raw.transaction(), raw.cursor() as cursor:
        for offset in range(0, count, COPY_CHUNK):
            n = min(COPY_CHUNK, count - offset)
            profiles, identities = [], []
            for i in range(offset, offset + n):
                pid = first + i
                name = f"{FIRST[rng.randrange(20)]} {LAST[rng.randrange(20)]}"
                traits = f'{{"firstName": "{name.split()[0]}", "lastName": "{name.split()[1]}"}}'
                profiles.append(
                    f"{pid}\t{name}\torientation\t{traits}\t{{}}\t{{}}\t{now}\t{now}\t{now}\t{now}\n"
                )  # noqa: E501
                for kind, value in _identifiers(i, kinds):
                    identities.append(
                        f"{identity_id}\t{kind}\t{value}\t{pid}\t{now}\t{now}\t{now}\n"
                    )  # noqa: E501
                    identity_id += 1
            with cursor.copy(profile_sql) as copy:
                copy.write("".join(profiles))
            with cursor.copy(identity_sql) as copy:
                copy.write("".join(identities))
            progress(offset + n, count, "COPY profiles")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval('profiles_profile_id_seq', %s), setval('profiles_identity_id_seq', %s)",
            [first + count, identity_id],
        )
        print(f"  generated in {time.perf_counter() - started:.1f}s; ANALYZE …", flush=True)
        cursor.execute("ANALYZE profiles_profile")
        cursor.execute("ANALYZE profiles_identity")
    return first, kinds


def _identifiers(i: int, kinds: dict[str, int]) -> list[tuple[int, str]]:
    return [
        (kinds["user_id"], f"acct-{i:07d}"),
        (kinds["email"], f"person{i}@mail{i % 97}.example"),
        (kinds["anonymous_id"], f"{(i * 2654435761) % (1 << 32):08x}-{i:07d}"),
    ]


def _lookup(kind_id: int, value: str):
    """Identifier (kind, normalised value) → its active profile, as a view would."""
    identity = Identity.objects.select_related("profile").filter(kind_id=kind_id, value=value)
    found = identity.first()
    if found is None:
        return None
    if found.profile.merged_into_id is None:
        return found.profile
    return Profile.objects.filter(pk=active_profile_id(profile_id=found.profile_id)).first()


def _timed(fn, args_list: list) -> list[float]:
    fn(*args_list[0])  # warm-up
    times = []
    for args in args_list:
        started = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _lookups() -> list[Row]:
    first, kinds = _generate(PROFILES)
    rng = random.Random(SEED + 1)
    draws = [rng.randrange(PROFILES) for _ in range(LOOKUPS)]
    identifier_args = [_identifiers(i, kinds)[rng.randrange(3)] for i in draws]
    pk_args = [(first + i,) for i in draws]

    def check(kind_id, value):
        profile = _lookup(kind_id, value)
        assert profile is not None, (kind_id, value)

    def by_pk(pk):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, display_name, traits, merged_into_id FROM profiles_profile "
                "WHERE id = %s",
                [pk],
            )
            assert cursor.fetchone() is not None

    # Alternate so that both see the same cache state and machine noise.
    lookup_ms, pk_ms = [], []
    for part in range(4):
        sl = slice(part * LOOKUPS // 4, (part + 1) * LOOKUPS // 4)
        lookup_ms += _timed(check, identifier_args[sl])
        pk_ms += _timed(by_pk, pk_args[sl])
    rows = latency_rows(
        f"Profile by identifier (kind+value), {PROFILES:,} profiles",
        lookup_ms,
        baseline="raw SELECT by primary key",
        baseline_ms=pk_ms,
        target="<= 5 ms",
    )
    rows += _searches(first, kinds, pk_ms)
    return rows


def _searches(first: int, kinds: dict[str, int], pk_ms: list[float]) -> list[Row]:
    rng = random.Random(SEED + 2)
    queries = []
    for n in range(SEARCHES):
        i = rng.randrange(PROFILES)
        kind = n % 4
        if kind == 0:
            queries.append((f"person{i}@mail{i % 97}.ex",))  # e-mail prefix
        elif kind == 1:
            queries.append((f"acct-{i:07d}"[:-2],))  # user id prefix (~100 matches)
        elif kind == 2:
            queries.append((f"{FIRST[rng.randrange(20)]} {LAST[rng.randrange(20)][:2]}",))
        else:
            queries.append((FIRST[rng.randrange(20)][:2],))  # a short, common name prefix

    def search(q):
        found = search_profiles(q=q, limit=20)
        assert found, q

    search_ms = _timed(search, queries)
    return latency_rows(
        f"search_profiles (identifier / name prefix), {PROFILES:,} profiles",
        search_ms,
        baseline="raw SELECT by primary key",
        baseline_ms=pk_ms,
        target="< 100 ms",
    )
