"""What keeping the stage history and the insights rollups costs the processing of events.

The same CDP_BENCH_INS_TP_EVENTS events (20,000) are processed through the real path
(``ingest_messages`` into the inbox, then ``process_inbox_batch`` drained in this one
process, every step) with the stage step and the insights triggers on, and with them
off: the pipeline's stage step skipped (settings.PROFILES_TRACK_STAGES) and every
``insights_*`` trigger disabled (ALTER TABLE ... DISABLE TRIGGER, enabled again in a
finally); and, printed, with the stage step on but the triggers off (what the rollups
alone cost). The events are stored once per mode, under its own ids (a prefix on user
ids, anonymous ids and message ids: new people each time, the same work), each chunk in
every mode in turn (BLOCK chunks of one, the same of the next, ...), and each processing
batch (one chunk) runs in its set's mode: the modes meet the same state of the tables and
the same noise of a shared machine, a few seconds apart. Only the processing batches
are timed; the stage changes each set recorded are counted (none when off, or the figure
means nothing).
CDP_BENCH_INS_TP_ROUNDS (1) repeats it with new ids.

The events: the visits of bench/segments_data.py (landing pages with their campaign,
product views, baskets, checkouts, orders) sent by a server source over the last 7 days,
in time order, by people who browse anonymously until they sign in (an identify that
links the anonymous id to the user id, so merges happen as in real traffic).

Figure: events/s processed with stages and rollups, against events/s without them, and
the cost in %. Target: <= 5 %. Printed beside it: the cost in the median batch, the
rollups' triggers' part, and the stage step's own time as a share of the processing
time with everything on (timed around profiles.pipeline.refresh_stages in the same
batches: on a shared machine the modes' difference is blurred by others' load, this share
is not). Where the step's time goes (per batch of 500): the aggregate of the touched
profiles' events against the rules, their current stage, the replay of those a batch
carries past a stage (their events in order, in Python), the insert of the changes (and
the two rollup inserts its trigger makes), the stage update and, for replayed profiles
with a history, its delete: about seven statements a batch.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import override_settings

from bench.common import Row, percentile, progress
from bench.segments_data import Visits, cumulative, property_pools
from cdp_site.redis_client import client
from integrations import processing
from integrations import services as collect
from profiles import pipeline

EVENTS = int(os.environ.get("CDP_BENCH_INS_TP_EVENTS", "20000"))
ROUNDS = int(os.environ.get("CDP_BENCH_INS_TP_ROUNDS", "1"))
INGEST_CHUNK = 500  # messages per ingest_messages call, like a /v1/batch request
BLOCK = 5  # chunks processed in one mode before the next mode's
DAYS = 7
SEED = 23
TRIGGERS = """
SELECT tgrelid::regclass::text, tgname FROM pg_trigger
WHERE NOT tgisinternal AND tgname LIKE 'insights\\_%'
"""


# The modes each set of ids is processed in: everything on; the stage step without the
# insights triggers (what the rollups alone cost, printed); both off (the baseline).
FULL, NO_ROLLUPS, OFF = "full", "norollups", "off"
MODES = (FULL, NO_ROLLUPS, OFF)


def rows(label: str) -> list[Row]:
    source = collect.create_source(name="Insights throughput bench shop", kind="server")
    _quiet_trigger()
    stream = _stream(EVENTS)
    batches: dict[str, list[tuple[float, int]]] = {m: [] for m in MODES}  # (seconds, events)
    step = [0.0]  # seconds spent in the stage step itself, all on
    for n in range(ROUNDS):
        last_change = _one(LAST_CHANGE)
        chunks = _ingest(source.id, stream, prefix=f"tp{n}")
        done = 0
        for mode, block in itertools.groupby(chunks, key=lambda chunk: chunk[0]):
            with _switched(mode), _stage_step_timed(mode, step):
                for _, size in block:
                    batches[mode].append((_batch(size), size))
                    done += 1
                    progress(done, len(chunks), f"process round {n + 1}")
        recorded = {m: _one(CHANGED, [last_change, f"tp{n}{m}-%"]) for m in MODES}
        print(f"  stage changes recorded, round {n + 1}: {recorded}", flush=True)
        assert recorded[FULL] == recorded[NO_ROLLUPS] and not recorded[OFF], recorded
    return _figures(f"processing {len(stream):,} events x {ROUNDS}, {label}", batches, step[0])


def _figures(figure: str, batches: dict[str, list[tuple[float, int]]], step: float) -> list[Row]:
    rate = {m: sum(n for _, n in batches[m]) / sum(s for s, _ in batches[m]) for m in MODES}
    on, off = rate[FULL], rate[OFF]
    cost = 100 * (1 - on / off)
    rollups = 100 * (1 - on / rate[NO_ROLLUPS])
    median = {m: percentile([s / n for s, n in batches[m]], 50) for m in MODES}
    print(f"  processing: {on:,.0f} ev/s with stages and rollups, {off:,.0f} without", flush=True)
    print(f"  cost: {cost:.1f} %, of which the rollups' triggers {rollups:.1f} %", flush=True)
    print(f"  in the median batch: cost {100 * (1 - median[OFF] / median[FULL]):.1f} %", flush=True)
    full = sum(s for s, _ in batches[FULL])
    print(
        f"  the stage step's own time (with the triggers it fires): {100 * step / full:.1f} % "
        "of the processing time with everything on",
        flush=True,
    )
    return [
        Row(
            figure=f"{figure}: with stage history and rollups",
            value=on,
            unit="ev/s",
            baseline="the same events with them switched off",
            baseline_value=off,
        ),
        Row(
            figure=f"{figure}: cost of stage history and rollups",
            value=cost,
            unit="%",
            baseline="switched off",
            baseline_value=0.0,
            target="<= 5 %",
            show_ratio=False,
        ),
        Row(
            figure=f"{figure}: the stage step's own time (blurred less by a shared machine)",
            value=100 * step / full,
            unit="%",
            baseline="of the processing time with everything on",
            baseline_value=100.0,
            target="<= 5 %",
            show_ratio=False,
        ),
    ]


LAST_CHANGE = "SELECT coalesce(max(id), 0) FROM profiles_stagechange"
# Changes since a moment of profiles with an identity of a round's prefix (user or
# anonymous id).
CHANGED = """
SELECT count(*) FROM profiles_stagechange sc WHERE sc.id > %s AND EXISTS (
    SELECT 1 FROM profiles_identity i WHERE i.profile_id = sc.profile_id AND i.value LIKE %s)
"""


def _one(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _ingest(source_id: int, stream: list[dict], *, prefix: str) -> list[tuple[str, int]]:
    """Stores the stream once per mode, under the mode's ids: BLOCK chunks of it in every
    mode in turn (which goes first rotates), then the next BLOCK. A processing batch takes
    one chunk: the modes meet the same state of the tables and of the machine, and the
    switch (an ALTER TABLE, which makes the next statements plan again) comes once a block.
    Returns the chunks in inbox order: (mode, size)."""
    step = INGEST_CHUNK * BLOCK
    chunks = []
    for n, block in enumerate(range(0, len(stream), step)):
        for mode in MODES[n % 3 :] + MODES[: n % 3]:
            for i in range(block, min(block + step, len(stream)), INGEST_CHUNK):
                messages = [_renamed(m, f"{prefix}{mode}-") for m in stream[i : i + INGEST_CHUNK]]
                collect.ingest_messages(source_id=source_id, messages=messages)
                chunks.append((mode, len(messages)))
    return chunks


def _batch(size: int) -> float:
    """Seconds to process the next inbox batch (``size`` events, one stored chunk)."""
    started = time.perf_counter()
    done = processing.process_inbox_batch(limit=size)
    seconds = time.perf_counter() - started
    assert done == size, (done, size)
    return seconds


@contextmanager
def _stage_step_timed(mode: str, step: list[float]):
    """Adds the time of each call of the pipeline's stage step to ``step[0]`` (all on
    only): a share of the batch's time that the noise of other modes cannot blur."""
    original = pipeline.refresh_stages
    if mode != FULL:
        yield
        return

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            step[0] += time.perf_counter() - started

    pipeline.refresh_stages = timed
    try:
        yield
    finally:
        pipeline.refresh_stages = original


def _quiet_trigger() -> None:
    """Keeps ingestion from queueing processing tasks: this process drains the inbox."""
    client().set(collect.TRIGGER_KEY, "1", ex=24 * 3600)


@contextmanager
def _switched(mode: str):
    if mode == FULL:
        yield
        return
    triggers = _insights_triggers()
    _alter(triggers, "DISABLE")
    try:
        with override_settings(PROFILES_TRACK_STAGES=mode != OFF):
            yield
    finally:
        _alter(triggers, "ENABLE")


@functools.cache
def _insights_triggers() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(TRIGGERS)
        return cursor.fetchall()


def _alter(triggers, action: str) -> None:
    with connection.cursor() as cursor:
        for table, name in triggers:
            cursor.execute(f'ALTER TABLE {table} {action} TRIGGER "{name}"')


def _renamed(message: dict, prefix: str) -> dict:
    out = {**message, "messageId": prefix + message["messageId"]}
    for key in ("userId", "anonymousId"):
        if key in message:
            out[key] = prefix + message[key]
    return out


def _stream(count: int) -> list[dict]:
    """``count`` messages of visits by count / 20 people over the last DAYS, in time order."""
    rng = random.Random(SEED)
    people = max(count // 20, 10)
    visits = Visits(rng, property_pools(rng), people)
    weights = cumulative(rng.lognormvariate(0, 1.0) for _ in range(people))
    end = datetime.now(UTC) - timedelta(minutes=5)
    starts = sorted(  # more visits than needed: the events of the latest are left out
        (end - timedelta(seconds=rng.uniform(0, DAYS * 86400)), person)
        for person in rng.choices(range(people), cum_weights=weights, k=count // 3)
    )
    signed_in: set[int] = set()
    timed: list[tuple[datetime, dict]] = []
    for at, person in starts:
        for type_, name, props, context in visits.visit(person):
            at += timedelta(seconds=rng.uniform(10, 180))
            ids = {"anonymousId": f"a{person}"}
            if name in ("Signed In", "Checkout Started") and person not in signed_in:
                signed_in.add(person)  # checking out asks to sign in
                traits = {"email": f"person{person}@mail.example"}
                timed.append(
                    (
                        at,
                        _message(
                            "identify", None, at, ids | {"userId": f"u{person}"}, "", None, traits
                        ),
                    )
                )
            if person in signed_in:
                ids["userId"] = f"u{person}"
            timed.append((at, _message(type_, name, at, ids, props, context)))
        if len(timed) >= 2 * count:
            break
    timed.sort(key=lambda pair: pair[0])
    return [{**message, "messageId": f"m{n}"} for n, (_, message) in enumerate(timed[:count])]


def _message(type_, name, at, ids, props, context, traits=None) -> dict:
    message = {"type": type_, "timestamp": at.isoformat(), **ids}
    if type_ == "track":
        message["event"] = name
    elif name:
        message["name"] = name
    if props:
        message["properties"] = json.loads(props)
    if context:
        message["context"] = json.loads(context)
    if traits:
        message["traits"] = traits
    return message
