"""Funnels beyond the plain 4-step figure of bench_insights: broken down by a property of
the first step (a category of 8 values, and a product id of 5,000 values: the largest 8
and "other", however many there are) and with a property filter on the first step, each
against the plain funnel in the same run (what the breakdown or filter adds)."""

from __future__ import annotations

import os
from datetime import timedelta

from django.utils import timezone

from bench.common import Row, latency_rows, timed_runs
from insights.funnels.selectors import Breakdown, Step, funnel
from insights.periods import Period

REPEAT = int(os.environ.get("CDP_BENCH_INS_REPEAT", "7"))
STEPS = ["Product Viewed", "Product Added", "Checkout Started", "Order Completed"]
PRICEY = {"property": "price", "op": "gt", "value": 100}


def _timed(fn) -> list[float]:
    return [seconds * 1000 for seconds in timed_runs(fn, repeat=REPEAT)]


def rows(label: str) -> list[Row]:
    today = timezone.localdate()
    month = Period(today - timedelta(days=29), today, "week", timezone.get_current_timezone())
    steps = [Step(name) for name in STEPS]

    def run(steps=steps, by=None):
        return funnel(month, steps, window_days=7, ordered=True, by=by)

    plain = _timed(run)
    by_product = run(by=Breakdown("property", "product_id"))
    assert by_product.counts == run().counts  # the same people, grouped
    print(f"  funnel by product_id: {len(by_product.groups)} groups", flush=True)
    cases = {
        "by category (8 values)": lambda: run(by=Breakdown("property", "category")),
        "by product_id (5,000 values: top 8 + other)": lambda: run(
            by=Breakdown("property", "product_id")
        ),
        "first step filtered (price > 100)": lambda: run(
            steps=[Step(STEPS[0], (PRICEY,)), *steps[1:]]
        ),
    }
    found = []
    for what, fn in cases.items():
        found += latency_rows(
            f"funnel, 4 steps over 30 days, {what}, {label}",
            _timed(fn),
            tail=95,
            baseline="the same funnel, plain",
            baseline_ms=plain,
            target="",  # the target is the plain funnel's (bench_insights)
        )
    return found
