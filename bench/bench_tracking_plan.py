"""What the checks at the door cost ingestion (issue 16, "Speed"): ``ingest_messages`` of
/v1/batch-sized batches (100 messages: track calls of 20 event names with six properties
each, one identify in ten), measured in this process.

Figure: a source following a tracking plan of 20 events (a JSON Schema each, typed
properties, a required one, bounds) and 5 traits in "accept and flag" mode, with 10,000
identifiers on the suppression list. Baseline: the same batches for a source with no plan
while the suppression list is known empty (the per-process flag its screen keeps: what an
installation with an empty list pays), interleaved batch by batch with the figure's so
both see the same machine. Target: the checks together cost at most 10 %.

CDP_BENCH_PLAN_BATCHES (default 120) batches on each side, after a warm-up.
"""

from __future__ import annotations

import math
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

from django.db import connection

from bench.common import Row, progress
from cdp_site.redis_client import client
from integrations import services
from integrations.collect.messages import prepare
from integrations.services import TRIGGER_KEY
from integrations.suppression import services as suppression
from integrations.tracking_plan import door
from integrations.tracking_plan import services as plans
from integrations.tracking_plan.models import Mode

BATCHES = int(os.environ.get("CDP_BENCH_PLAN_BATCHES", "120"))
BATCH_SIZE = 100
EVENTS = [f"Event {n:02d}" for n in range(20)]
SUPPRESSED = 10_000


def _schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "product_id": {"type": "string", "minLength": 1},
            "price": {"type": "number", "minimum": 0},
            "quantity": {"type": "integer", "minimum": 1},
            "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
            "coupon": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["product_id", "price"],
    }


def _batch(n: int) -> list[dict]:
    tag = uuid.uuid4().hex[:10]
    messages = []
    for i in range(BATCH_SIZE):
        user = f"user-{n}-{i % 17}"
        if i % 10 == 0:
            traits = {"email": f"{user}@example.org", "age": 30 + i, "plan": "pro"}
            messages.append({"type": "identify", "userId": user, "traits": traits})
        else:
            properties = {
                "product_id": f"p-{i}",
                "price": 9.5 + i,
                "quantity": 1 + i % 3,
                "currency": "EUR",
                "coupon": None,
                "tags": ["a", "b"],
            }
            event = EVENTS[i % len(EVENTS)]
            messages.append(
                {"type": "track", "userId": user, "event": event, "properties": properties}
            )
        messages[-1]["messageId"] = f"{tag}-{i}"
    return messages


def _timed(source_id: int, messages: list[dict]) -> float:
    started = time.perf_counter()
    result = services.ingest_messages(source_id=source_id, messages=messages)
    elapsed = time.perf_counter() - started
    assert result.stored == BATCH_SIZE and not result.violations, result
    return elapsed


def run() -> list[Row]:
    try:
        client().set(TRIGGER_KEY, "1", ex=3600)  # nothing queued: only the door is measured
    except Exception as exc:
        print(f"  (processing flag not set: {exc})")
    plain = services.create_source(name="bench no plan", kind="server", rate_limit=0)
    planned = services.create_source(name="bench plan", kind="server", rate_limit=0)
    traits = {"email": "string", "age": "integer", "plan": "string", "name": "string"}
    plans.create_plan(
        name="bench plan",
        events=[{"name": name, "schema": _schema()} for name in EVENTS],
        traits=traits | {"vip": "boolean"},
        sources=[(planned, Mode.FLAG)],
    )
    suppression.suppress(values=[f"erased-{n}@example.org" for n in range(SUPPRESSED)])
    with connection.cursor() as cursor:  # what autovacuum does soon after such a load
        cursor.execute("ANALYZE integrations_suppression")
    # Four sides, batch by batch: neither check, the plan alone, the list alone, both.
    sides = {"none": [], "plan": [], "list": [], "both": []}
    order = list(sides)
    # What the suppression screen knows of the list, per side: the list as it is, or a
    # door that knows it empty (the list is global: this is how the sides take turns).
    real, empty = suppression._door, suppression._Door()
    empty.read_until = math.inf
    for n in range(-3, BATCHES):  # three warm-up rounds first
        order = order[1:] + order[:1]  # each side in each place in turn
        for side in order:
            times = sides[side]
            suppression._door = real if side in ("list", "both") else empty
            source = planned if side in ("plan", "both") else plain
            elapsed = _timed(source.pk, _batch(n))
            if n >= 0:
                times.append(elapsed * 1000)
        if n >= 0:
            progress(n + 1, BATCHES, "batches")
    suppression._door = real
    median = {side: statistics.median(times) for side, times in sides.items()}
    baseline = median["none"]
    for side in ("plan", "list", "both"):
        print(
            f"  median batch, {side}: {median[side]:.2f} ms against {baseline:.2f} ms: "
            f"{100 * (median[side] / baseline - 1):+.1f} %"
        )
    labels = {
        "both": "plan of 20 events (flag) + 10k suppressed",
        "plan": "plan of 20 events (flag) alone",
        "list": "10k suppressed alone",
    }
    check_ms = _door_check_ms(planned.pk)
    print(f"  the plan check alone (door.check, no database): {check_ms:.3f} ms a batch")
    return [
        Row(
            figure="the plan check alone (door.check, CPU), median",
            value=check_ms,
            unit="ms",
            baseline="same batches, no plan, empty suppression list",
            baseline_value=baseline,
        ),
        *[
            Row(
                figure=f"ingest_messages 100/batch, {label}, median",
                value=median[side],
                unit="ms",
                baseline="same batches, no plan, empty suppression list",
                baseline_value=baseline,
                target="≤ 1.10 (10 %)" if side == "both" else "",
            )
            for side, label in labels.items()
        ],
    ]


def _door_check_ms(source_id: int) -> float:
    """The plan's own cost: door.check of prepared batches, timed without the database
    (the plan is cached), so machine noise on round trips does not hide it."""
    received = datetime.now(UTC)
    batches = []
    for n in range(BATCHES):
        messages = _batch(n)
        batches.append([(prepare(m, type_=None, received_at=received), m) for m in messages])
    times = []
    for pairs in batches:
        started = time.perf_counter()
        checked = door.check(source_id=source_id, pairs=pairs)
        times.append((time.perf_counter() - started) * 1000)
        assert len(checked.rows) == BATCH_SIZE and not checked.violations
    return statistics.median(times)
