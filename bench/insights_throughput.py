"""What keeping the stage history and the insights rollups costs the processing of events.

The same CDP_BENCH_INS_TP_EVENTS events (20,000) are processed through the real path
(``ingest_messages`` into the inbox, then ``process_inbox_batch`` drained in this one
process, every step) in three modes: everything on; the baseline, the same processing
without the stage history and the rollups (settings.PROFILES_STAGE_HISTORY off: each
profile's current stage is still computed, stored and signalled, as segments and
journeys need it, but no stage change is recorded and no history replayed, so the
insights triggers on profiles_stagechange have nothing to append: checked); and, printed
for information, the whole stage step off
(settings.PROFILES_TRACK_STAGES: what the step costs in all, the current stage included).
The events are stored once per mode, under its own ids (a prefix on user ids, anonymous
ids and message ids: new people each time, the same work), each chunk in every mode in
turn (BLOCK chunks of one, the same of the next, ...), and each processing batch (one
chunk) runs in its set's mode: the modes meet the same state of the tables and the same
noise of a shared machine, a second apart. Only the processing batches are timed.
Checked after each round: stage changes were recorded, and rollup rows appended, with the
history only, and the people of the first two modes are left in the same current stages.
CDP_BENCH_INS_TP_ROUNDS (1) repeats it with new ids.

The events: the visits of bench/segments_data.py (landing pages with their campaign,
product views, baskets, checkouts, orders) sent by a server source over the last 7 days,
in time order, by people who browse anonymously until they sign in (an identify that
links the anonymous id to the user id, so merges happen as in real traffic).

Figure: events/s processed with the stage history and rollups, against events/s without
them, and the cost in %. Target: <= 5 %. Beside it: the cost in the median block (each
block of events against the same block without them, a few seconds apart: a burst of
others' load in a few blocks moves the sums, not this median); the history's part of
the stage step's own time (timed around profiles.pipeline.refresh_stages in both modes,
per event, as a share of the processing time with everything on: blurred much less by
others' load than the modes' difference); and the whole stage step's cost against none.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import override_settings

from bench.common import Row, no_processing_tasks, percentile, progress
from bench.segments_data import Visits, cumulative, property_pools
from integrations import processing
from integrations import services as collect
from profiles import pipeline

EVENTS = int(os.environ.get("CDP_BENCH_INS_TP_EVENTS", "20000"))
ROUNDS = int(os.environ.get("CDP_BENCH_INS_TP_ROUNDS", "1"))
INGEST_CHUNK = 500  # messages per ingest_messages call, like a /v1/batch request
BLOCK = 1  # chunks processed in one mode before the next mode's
DAYS = 7
SEED = 23
# The rows appended to the insights rollups (by the triggers on profiles_stagechange) so far.
ROLLED = """
SELECT (SELECT coalesce(max(id), 0) FROM insights_stageflow)
     + (SELECT coalesce(max(id), 0) FROM insights_stagespell)
"""


# The modes each set of ids is processed in: everything on; the current stage without its
# history (no stage changes recorded, no replay, the insights triggers off: the baseline);
# the whole stage step off (what the step costs in all, printed).
FULL, NO_HISTORY, OFF = "full", "nohistory", "off"
MODES = (FULL, NO_HISTORY, OFF)


def rows(label: str) -> list[Row]:
    source = collect.create_source(name="Insights throughput bench shop", kind="server")
    no_processing_tasks()
    stream = _stream(EVENTS)
    batches: dict[str, list[tuple[float, int]]] = {m: [] for m in MODES}  # (seconds, events)
    step = dict.fromkeys(MODES, 0.0)  # seconds spent in the stage step itself, per mode
    paired: list[dict[str, float]] = []  # seconds per mode of each block of the same events
    appended = dict.fromkeys(MODES, 0)  # rows the insights triggers appended to the rollups
    for n in range(ROUNDS):
        last_change = _one(LAST_CHANGE)
        chunks = _ingest(source.id, stream, prefix=f"tp{n}")
        done = 0
        for mode, block in itertools.groupby(chunks, key=lambda chunk: chunk[0]):
            if not paired or mode in paired[-1]:
                paired.append({})  # the same events again, in every mode
            paired[-1][mode] = 0.0
            with _switched(mode), _stage_step_timed(mode, step):
                for _, size in block:
                    rolled = _one(ROLLED)
                    batches[mode].append((_batch(size), size))
                    appended[mode] += _one(ROLLED) - rolled
                    paired[-1][mode] += batches[mode][-1][0]
                    done += 1
                    progress(done, len(chunks), f"process round {n + 1}")
        _check(n, last_change, appended)
    figure = f"processing {len(stream):,} events x {ROUNDS}, {label}"
    return _figures(figure, batches, step, paired)


def _check(n: int, last_change: int, appended: dict[str, int]) -> None:
    """Stage changes are recorded, and rollups appended to, with the history only, and the
    current stages the modes leave their people in are the same (or the baseline does less
    than the real work)."""
    recorded = {m: _one(CHANGED, [last_change, f"tp{n}{m}-%"]) for m in MODES}
    print(f"  stage changes recorded, round {n + 1}: {recorded}", flush=True)
    print(f"  rollup rows appended so far: {appended}", flush=True)
    assert recorded[FULL] and not recorded[NO_HISTORY] and not recorded[OFF], recorded
    assert appended[FULL] and not appended[NO_HISTORY] and not appended[OFF], appended
    staged = {m: dict(_all(STAGES, [f"tp{n}{m}-%"])) for m in (FULL, NO_HISTORY)}
    print(f"  current stages, round {n + 1}: {staged[FULL]}", flush=True)
    assert staged[FULL] == staged[NO_HISTORY], staged


def _figures(
    figure: str, batches: dict[str, list[tuple[float, int]]], step: dict, paired: list[dict]
) -> list[Row]:
    events = {m: sum(n for _, n in batches[m]) for m in MODES}
    seconds = {m: sum(s for s, _ in batches[m]) for m in MODES}
    rate = {m: events[m] / seconds[m] for m in MODES}
    on, without = rate[FULL], rate[NO_HISTORY]
    cost = 100 * (1 - on / without)
    whole = 100 * (1 - on / rate[OFF])
    # Each block of events against itself in the baseline, a second apart: the median
    # of those costs is not moved by a burst of others' load in a few blocks, as sums are.
    block = percentile([100 * (1 - b[NO_HISTORY] / b[FULL]) for b in paired], 50)
    # The history's part of the stage step's own time (timed around it in both modes, per
    # event), as a share of the processing time with everything on: the load of a shared
    # machine blurs it less than the modes' difference.
    own = 100 * (step[FULL] / events[FULL] - step[NO_HISTORY] / events[NO_HISTORY])
    own /= seconds[FULL] / events[FULL]
    print(
        f"  processing: {on:,.0f} ev/s with stage history and rollups, {without:,.0f} "
        f"without them (the current stage kept), {rate[OFF]:,.0f} without the stage step",
        flush=True,
    )
    print(
        f"  cost of history and rollups: {cost:.1f} % in all, {block:.1f} % in the median "
        f"block of {len(paired)} (each against the same events without them)",
        flush=True,
    )
    print(
        f"  the history's part of the stage step's own time: {own:.1f} % of the processing",
        flush=True,
    )
    print(
        f"  the stage step's own time: {100 * step[FULL] / seconds[FULL]:.1f} % with history, "
        f"{100 * step[NO_HISTORY] / seconds[NO_HISTORY]:.1f} % without; the whole step's "
        f"cost against none: {whole:.1f} %",
        flush=True,
    )
    return [
        Row(
            figure=f"{figure}: with stage history and rollups",
            value=on,
            unit="ev/s",
            baseline="the same with them off (the current stage kept)",
            baseline_value=without,
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
            figure=f"{figure}: cost of stage history and rollups in the median block",
            value=block,
            unit="%",
            baseline="the same block's events with them off",
            baseline_value=0.0,
            target="<= 5 %",
            show_ratio=False,
        ),
        Row(
            figure=f"{figure}: their part of the stage step's own time (blurred less)",
            value=own,
            unit="%",
            baseline="of the processing time with them on",
            baseline_value=100.0,
            target="<= 5 %",
            show_ratio=False,
        ),
        Row(
            figure=f"{figure}: the whole stage step (current stage too), for information",
            value=whole,
            unit="%",
            baseline="the stage step switched off",
            baseline_value=0.0,
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


# The current stage of the active profiles with an identity of a round's and mode's prefix.
STAGES = """
SELECT p.stage, count(*) FROM profiles_profile p WHERE p.merged_into_id IS NULL AND EXISTS (
    SELECT 1 FROM profiles_identity i WHERE i.profile_id = p.id AND i.value LIKE %s)
GROUP BY 1 ORDER BY 1
"""


def _all(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _one(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _ingest(source_id: int, stream: list[dict], *, prefix: str) -> list[tuple[str, int]]:
    """Stores the stream once per mode, under the mode's ids: BLOCK chunks of it in every
    mode in turn (which goes first rotates), then the next BLOCK. A processing batch takes
    one chunk: the modes meet the same state of the tables and of the machine. Returns the
    chunks in inbox order: (mode, size)."""
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
def _stage_step_timed(mode: str, step: dict):
    """Adds the time of each call of the pipeline's stage step to ``step[mode]``: a share
    of the batch's time that the noise of other modes cannot blur."""
    original = pipeline.refresh_stages

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            step[mode] += time.perf_counter() - started

    pipeline.refresh_stages = timed
    try:
        yield
    finally:
        pipeline.refresh_stages = original


@contextmanager
def _switched(mode: str):
    """The mode's settings. The insights triggers stay on: they fire on statements on
    profiles_stagechange, which the modes without the history never run (``_check`` sees
    that they appended nothing), and an ALTER TABLE to switch them would make the
    statements after it plan again, at every switch of mode."""
    if mode == FULL:
        yield
        return
    with override_settings(PROFILES_TRACK_STAGES=mode != OFF, PROFILES_STAGE_HISTORY=False):
        yield


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
