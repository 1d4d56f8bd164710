"""Attribution: the report over the last 30 days (orders credited by first touch, last
touch and linear over each buyer's touches in the 30 days before), against summing the
same orders' revenue per currency through the same (name, timestamp) index in the same
run. Target: p95 <= 2 s. Runs on whatever the generator made: with little UTM context
most orders are "(direct)", which still reads every buyer's 30 days of events."""

from __future__ import annotations

import os
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from bench.common import Row, latency_rows, timed_runs
from insights.attribution.selectors import attribute
from insights.periods import Period
from profiles import attribution

REPEAT = int(os.environ.get("CDP_BENCH_INS_REPEAT", "7"))
SUM_ORDERS = f"""
SELECT {attribution.currency_sql("e.properties", "s")}, count(*),
       sum({attribution.revenue_sql("e.properties", "s")})
FROM profiles_profileevent e
LEFT JOIN integrations_source s ON s.id = e.source_id
WHERE e.name = %(event)s AND e."timestamp" >= %(start)s AND e."timestamp" < %(end)s
GROUP BY 1
"""  # noqa: S608  (constant fragments; the values are parameters)


def _ms(fn) -> list[float]:
    return [seconds * 1000 for seconds in timed_runs(fn, repeat=REPEAT)]


def rows(label: str) -> list[Row]:
    today = timezone.localdate()
    month = Period(today - timedelta(days=29), today, "day", timezone.get_current_timezone())
    params = {
        "event": attribution.ORDER_EVENT,
        "start": month.start,
        "end": month.end,
        "default_currency": attribution.default_currency(),
    }

    def sum_orders():
        with connection.cursor() as cursor:
            cursor.execute(SUM_ORDERS, params)
            return cursor.fetchall()

    def report():
        return attribute(month, event=attribution.ORDER_EVENT, lookback=30, by="source")

    found = report()
    summed = {currency: n for currency, n, _ in sum_orders()}
    # Every model credits each order once: the report's totals are the baseline's.
    assert {c: t.orders for c, t in found.totals.items()} == summed, (found.totals, summed)
    channels = ", ".join(c.name for c in found.channels[:5])
    print(f"  attribution: {sum(summed.values()):,} orders; top sources {channels}", flush=True)
    return latency_rows(
        f"attribution, 30 days of orders, 30-day lookback, {label}",
        _ms(report),
        tail=95,
        baseline="summing the same orders' revenue",
        baseline_ms=_ms(sum_orders),
        target="<= 2000 ms",
    )
