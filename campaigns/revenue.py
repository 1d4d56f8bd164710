"""Revenue and conversions attributed to a campaign's e-mails: an order event
(profiles.attribution.ORDER_EVENT) by a person within the campaign's conversion window
after they clicked one of its e-mails counts, once per order however many e-mails were
clicked. Amounts come from the property the order's source maps, else its ``revenue``,
else ``total``, in its currency (else its source's; profiles.attribution), summed per
currency, never across currencies.

Clicks are the deliveries' first click (campaigns.tracking.record_click); a delivery's
person is followed to the survivor when they were merged since, as results.py does.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from cdp_site.counting import TimeLimitExceeded, time_limit
from profiles import attribution

TIME_LIMIT_MS = 10_000

REVENUE = f"""
WITH clicks AS (
    SELECT DISTINCT coalesce(p.merged_into_id, d.profile_id) AS profile_id, d.clicked_at
    FROM campaigns_delivery d
    LEFT JOIN profiles_profile p ON p.id = d.profile_id
    WHERE d.campaign_id = %(campaign)s AND d.channel = 'email' AND d.clicked_at IS NOT NULL
),
orders AS (
    SELECT DISTINCT e.event_id, e.profile_id,
           {attribution.revenue_sql("e.properties", "s")} AS revenue,
           {attribution.currency_sql("e.properties", "s")} AS currency
    FROM clicks c
    JOIN profiles_profileevent e
      ON e.profile_id = c.profile_id AND e.name = %(event)s
     AND e."timestamp" >= c.clicked_at
     AND e."timestamp" <= c.clicked_at + make_interval(days => %(days)s)
    LEFT JOIN integrations_source s ON s.id = e.source_id  -- its amount property, currency
)
SELECT grouping(currency) = 1 AS overall, currency, count(*), count(DISTINCT profile_id),
       sum(revenue)
FROM orders GROUP BY GROUPING SETS ((currency), ())
ORDER BY 1, sum(revenue) DESC NULLS LAST, currency
"""  # noqa: S608  (constant fragments; the values are parameters)


def email_revenue(campaign) -> dict:
    """{"event", "orders", "buyers", "per_currency": [{currency, orders, buyers, revenue}],
    "too_slow"}
    for orders within the conversion window after a click on one of the campaign's
    e-mails. ``buyers`` is people (one person may order in two currencies)."""
    params = {
        "campaign": campaign.pk,
        "event": attribution.ORDER_EVENT,
        "days": int(campaign.conversion_window_days),
        "default_currency": attribution.default_currency(),
    }
    try:
        with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
            cursor.execute(REVENUE, params)
            found = cursor.fetchall()
    except TimeLimitExceeded:  # the page still shows the rest of the results
        return {**_nothing(), "too_slow": True}
    # The grand total row (every currency) comes last; its orders and buyers only.
    *found, (_, _, orders, buyers, _) = found
    per_currency = [
        {
            "currency": currency,
            "orders": n,
            "buyers": people,
            "revenue": float(round(revenue or Decimal(0), 2)),
        }
        for _, currency, n, people, revenue in found
    ]
    return {**_nothing(), "orders": orders, "buyers": buyers, "per_currency": per_currency}


def _nothing() -> dict:
    return {
        "event": attribution.ORDER_EVENT,
        "orders": 0,
        "buyers": 0,
        "per_currency": [],
        "too_slow": False,
    }
