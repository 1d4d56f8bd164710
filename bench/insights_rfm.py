"""The RFM scores and grid at the scale of the insights benchmark's data (its orders carry
a revenue).

1. The scores pass (profiles.computed.scores.recompute_scores: recency, frequency and
   monetary quintiles, the RFM segment and the RFM score formula, written and signalled
   for every customer whose values changed): the first pass, which writes every customer,
   and p50 of reruns that find nothing changed; against one GROUP BY over the orders that
   reads the same three figures per customer, in the same run.
2. The grid (/insights/rfm/, rendered by Django's test client) and its numbers alone
   (insights.rfm.selectors.grid): p50 / p95 against the same GROUP BY.

The scores rank the base traits each customer has stored (days since the last order,
orders, order revenue), which the pipeline keeps as events arrive; the generator COPYs
events past the pipeline, so they are filled here first with one UPDATE from that same
GROUP BY (the values the computed traits would hold).
"""

from __future__ import annotations

import os
import time

from django.db import connection, transaction
from django.test import Client

from bench.common import Row, latency_rows, timed_runs
from cdp_site import services as site_services
from insights.rfm import selectors
from profiles.computed import scores

REPEAT = int(os.environ.get("CDP_BENCH_INS_REPEAT", "7"))
ORDERS = """
SELECT profile_id, max("timestamp"), count(*),
       sum(CASE WHEN jsonb_typeof(properties->'revenue') = 'number'
                THEN (properties->>'revenue')::numeric END)
FROM profiles_profileevent WHERE name = 'Order Completed' GROUP BY profile_id
"""
FILL = f"""
UPDATE profiles_profile p SET computed = p.computed || jsonb_build_object(
    'days_since_last_order', floor(extract(epoch FROM now() - o.last) / 86400)::int,
    'order_count', o.n, 'order_revenue', o.revenue)
FROM ({ORDERS}) AS o(profile_id, last, n, revenue) WHERE p.id = o.profile_id
"""  # noqa: S608 (constants only)
BASELINE = "one GROUP BY over the orders (last, count, revenue per customer)"


def _group_by() -> None:
    with connection.cursor() as cursor:
        cursor.execute(ORDERS)
        cursor.fetchall()


def rows(label: str) -> list[Row]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(FILL)
        print(f"  rfm: base traits of {cursor.rowcount:,} customers filled", flush=True)
    baseline_ms = [s * 1000 for s in timed_runs(_group_by, repeat=REPEAT)]
    started = time.perf_counter()
    changed = scores.recompute_scores()
    first_ms = (time.perf_counter() - started) * 1000
    print(f"  rfm: first scores pass changed {changed:,} customers", flush=True)
    rerun_ms = [s * 1000 for s in timed_runs(scores.recompute_scores, repeat=3)]
    found = selectors.grid()
    print(f"  rfm: {found.total:,} customers in the grid", flush=True)
    result = [
        Row(
            figure=f"RFM scores, first pass ({changed:,} customers written), {label}",
            value=first_ms,
            unit="ms",
            baseline=BASELINE,
            baseline_value=sorted(baseline_ms)[len(baseline_ms) // 2],
        ),
        *latency_rows(
            f"RFM scores, rerun with nothing changed, {label}",
            rerun_ms,
            tail=95,
            baseline=BASELINE,
            baseline_ms=baseline_ms,
            target="",
        ),
    ]
    client = Client(HTTP_HOST="localhost")
    client.force_login(
        site_services.create_user(email="bench-rfm@example.org", role="Marketer").user
    )
    assert client.get("/insights/rfm/").status_code == 200
    timings = {
        "RFM grid numbers": lambda: selectors.grid(),
        "RFM grid page (HTML)": lambda: client.get("/insights/rfm/"),
    }
    for what, fn in timings.items():
        result += latency_rows(
            f"{what}, {label}",
            [s * 1000 for s in timed_runs(fn, repeat=REPEAT)],
            tail=95,
            baseline=BASELINE,
            baseline_ms=baseline_ms,
            target="",
        )
    return result
