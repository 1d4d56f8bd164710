"""Revenue from order events attributed to the channels that brought the buyers.

For each order event in the period, the buyer's touches (profiles.attribution: events
with a UTM campaign or another site's referrer) in the ``lookback`` days up to the order
get its credit: all of it to the earliest (first touch) or the latest (last touch), or an
equal share to each (linear). An order with no touch in the window is credited to
"(direct)". Amounts are summed per currency, never across currencies; orders without an
amount count as orders and add nothing to revenue.

One statement: the period's orders from the (name, timestamp, profile) index, each
buyer's touches from the partial index of the events that are touches
(profileevent_external_touch: its condition is the query's, so the host of each internal
page view's referrer is never parsed here), under the reports' time limit; the largest
channels are kept and the rest summed as "other", so a million distinct UTM sources
still answer a bounded table. An order looks at its latest MAX_TOUCHES touches at most
(one backward index scan each), so a buyer with 100,000 events costs orders x MAX_TOUCHES
rows, not orders x touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from cdp_site.counting import time_limit
from insights import people
from insights.periods import Period
from profiles import attribution

TIME_LIMIT_MS = 10_000
TOP = 15
# An order's credit goes to its latest MAX_TOUCHES touches in the window at most: a buyer
# with thousands of orders and touches (a bot, a test account: "a profile with 100,000
# events") would otherwise make the report quadratic in their events and time out.
MAX_TOUCHES = 50
OTHER = "other"
MODELS = ("first", "last", "linear")
DIRECT = dict(zip(("source", "medium", "campaign"), attribution.DIRECT, strict=True))

_ORDERS = f"""
SELECT e.event_id, e.profile_id, e."timestamp" AS at,
       {attribution.revenue_sql("e.properties", "s")} AS revenue,
       {attribution.currency_sql("e.properties", "s")} AS currency
FROM profiles_profileevent e
LEFT JOIN integrations_source s ON s.id = e.source_id  -- its amount property and currency
WHERE e.name = %(event)s AND e."timestamp" >= %(start)s AND e."timestamp" < %(end)s
"""  # noqa: S608  (constant fragments; every value is a parameter)


def _credits(by: str) -> str:
    """The credits CTEs: one row per (order, touch) with each model's share."""
    channel = attribution.channel_sql("e.context")
    return f"""
orders AS MATERIALIZED ({_ORDERS}),
touches AS (
    SELECT o.event_id, o.profile_id, o.revenue, o.currency, t.grp,
           row_number() OVER (PARTITION BY o.event_id ORDER BY t.at, t.id) AS first_rank,
           row_number() OVER (PARTITION BY o.event_id ORDER BY t.at DESC, t.id DESC) AS last_rank,
           count(*) OVER (PARTITION BY o.event_id) AS n
    FROM orders o
    JOIN LATERAL (
        SELECT e.event_id AS id, e."timestamp" AS at, {channel[by]} AS grp
        FROM profiles_profileevent e
        WHERE e.profile_id = o.profile_id AND e."timestamp" <= o.at
          AND e."timestamp" > o.at - make_interval(days => %(lookback)s)
          AND {channel["candidate"]} AND {channel["touch"]}
        ORDER BY e."timestamp" DESC, e.event_id DESC LIMIT %(touches)s
    ) t ON true
),
credits AS (
    SELECT event_id, profile_id, revenue, currency, grp, (first_rank = 1)::int AS first_credit,
           (last_rank = 1)::int AS last_credit, 1.0 / n AS linear_credit
    FROM touches
    UNION ALL
    SELECT o.event_id, o.profile_id, o.revenue, o.currency, %(direct)s::text, 1, 1, 1.0
    FROM orders o WHERE NOT EXISTS (SELECT 1 FROM touches t WHERE t.event_id = o.event_id)
)"""  # noqa: S608


def report_sql(by: str) -> str:
    # ``by`` is a key of attribution.channel_sql (the form's choice), never text of input.
    return f"""
WITH {_credits(by)},
agg AS (
    SELECT grp, currency,
           sum(first_credit) AS fo, sum(first_credit * revenue) AS fr,
           sum(last_credit) AS lo, sum(last_credit * revenue) AS lr,
           sum(linear_credit) AS io, sum(linear_credit * revenue) AS ir
    FROM credits GROUP BY 1, 2
),
top AS (SELECT grp FROM agg GROUP BY grp ORDER BY sum(io) DESC, grp LIMIT %(top)s)
SELECT 'channel', CASE WHEN grp IN (SELECT grp FROM top) THEN grp END, currency,
       sum(fo), sum(fr), sum(lo), sum(lr), sum(io), sum(ir)
FROM agg GROUP BY 2, 3
UNION ALL
SELECT 'total', NULL, currency, count(*), sum(revenue), count(revenue), NULL, NULL, NULL
FROM orders GROUP BY currency
"""  # noqa: S608


def people_sql(by: str, model: str) -> str:
    # ``model`` is one of MODELS (a column of credits), ``by`` a channel_sql key.
    assert model in MODELS and by in DIRECT
    return f"""
WITH {_credits(by)}
SELECT DISTINCT profile_id FROM credits WHERE grp = %(channel)s AND {model}_credit > 0
"""  # noqa: S608


@dataclass
class Channel:
    name: str
    other: bool = False  # the smaller channels summed: no people to list behind it
    # model -> currency -> [orders, revenue]; orders are fractional for linear
    credit: dict[str, dict[str, list]] = field(default_factory=dict)

    def orders(self, model: str) -> Decimal:
        return sum((v[0] for v in self.credit.get(model, {}).values()), Decimal(0))

    def revenue(self, model: str, currency: str) -> Decimal:
        return self.credit.get(model, {}).get(currency, [0, Decimal(0)])[1]


@dataclass(frozen=True)
class Totals:
    orders: int
    revenue: Decimal
    with_amount: int  # orders whose revenue or total was a number


@dataclass(frozen=True)
class Attribution:
    as_of: object
    by: str
    channels: list[Channel]  # most linear orders first, "other" last
    totals: dict[str, Totals]  # per currency, most revenue first

    @property
    def currencies(self) -> list[str]:
        return list(self.totals)


def _params(period: Period, *, event: str, lookback: int, by: str) -> dict:
    return {
        "event": event,
        "start": period.start,
        "end": period.end,
        "lookback": int(lookback),
        "direct": DIRECT[by],
        "top": TOP,
        "touches": MAX_TOUCHES,
        "default_currency": attribution.default_currency(),
    }


def attribute(period: Period, *, event: str, lookback: int, by: str) -> Attribution:
    as_of = timezone.now()
    params = _params(period, event=event, lookback=lookback, by=by)
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        cursor.execute(report_sql(by), params)
        found = cursor.fetchall()
    channels: dict[tuple, Channel] = {}
    totals = {}
    for kind, name, currency, fo, fr, lo, lr, io, ir in found:
        if kind == "total":
            totals[currency] = Totals(int(fo), fr or Decimal(0), int(lo))
            continue
        key = (name is None, name)
        channel = channels.setdefault(key, Channel(OTHER if name is None else name, name is None))
        for model, orders, revenue in (("first", fo, fr), ("last", lo, lr), ("linear", io, ir)):
            channel.credit.setdefault(model, {})[currency] = [orders, revenue or Decimal(0)]
    ordered = sorted(channels.values(), key=lambda c: (c.other, -c.orders("linear"), c.name))
    currencies = sorted(totals, key=lambda c: (-totals[c].revenue, c))
    return Attribution(as_of, by, ordered, {c: totals[c] for c in currencies})


def people_question(
    period: Period, *, title: str, event: str, lookback: int, by: str, channel: str, model: str
) -> people.Asked:
    """The buyers whose orders in the period ``model`` credited to ``channel``, for the
    shared people lists (insights.people)."""
    params = {**_params(period, event=event, lookback=lookback, by=by), "channel": channel}
    return people.Asked(title, people_sql(by, model), params)
