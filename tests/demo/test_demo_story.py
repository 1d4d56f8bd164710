"""The demo company's year tells the story the insights reports are there to show: a
weekly rhythm and a year-end peak, a newsletter campaign whose clickers order more, a
channel (facebook ads) whose customers order once and go quiet, page views with their
campaign, orders with revenue and currency.

Every figure is counted from the loaded data: the demo sent through the live API and the
file import, then processed into profiles (the events table with each event's context),
as ``make demo`` does. The data is loaded once for the module (a year of 300 customers),
and the database flushed after it."""

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings

from demo.load import load_demo_data
from integrations import processing

CUSTOMERS = 300
SEED = 7
END = datetime(2027, 1, 1, tzinfo=UTC)  # the year shown is 2026, every month whole

ORDERS = "SELECT count(*) FROM profiles_profileevent WHERE name = 'Order Completed'"
PER_MONTH = """
SELECT extract(month FROM "timestamp" AT TIME ZONE 'UTC')::int, count(*)
FROM profiles_profileevent WHERE name = 'Order Completed' GROUP BY 1
"""
PER_WEEKDAY = """
SELECT extract(isodow FROM "timestamp" AT TIME ZONE 'UTC')::int, count(*)
FROM profiles_profileevent WHERE name = 'Order Completed' GROUP BY 1
"""
# Customers by the channel of their first page view (no campaign: direct), and those of
# them who ordered more than once.
REPEATS_BY_FIRST_TOUCH = """
WITH first_touch AS (
    SELECT DISTINCT ON (profile_id) profile_id,
           coalesce(context -> 'campaign' ->> 'source', 'direct') AS channel
    FROM profiles_profileevent WHERE type = 'page' ORDER BY profile_id, "timestamp", event_id
), orders AS (
    SELECT profile_id, count(*) AS n FROM profiles_profileevent
    WHERE name = 'Order Completed' GROUP BY profile_id
)
SELECT f.channel, count(*), count(*) FILTER (WHERE o.n > 1)
FROM orders o JOIN first_touch f USING (profile_id)
JOIN profiles_profile p ON p.id = o.profile_id AND p.merged_into_id IS NULL
GROUP BY f.channel
"""
# Each opened seasonal-sale e-mail: clicked or not, and followed by an order of the same
# person within 7 days or not.
SALE_OPENS = """
SELECT EXISTS (SELECT 1 FROM profiles_profileevent c
               WHERE c.profile_id = o.profile_id AND c.name = 'Email Link Clicked'
                 AND c.properties ->> 'email_id' = o.properties ->> 'email_id') AS clicked,
       count(*),
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM profiles_profileevent b
           WHERE b.profile_id = o.profile_id AND b.name = 'Order Completed'
             AND b."timestamp" BETWEEN o."timestamp" AND o."timestamp" + interval '7 days'))
FROM profiles_profileevent o
WHERE o.name = 'Email Opened' AND o.properties ->> 'campaign_id' = 'cmp-sale'
GROUP BY 1
"""
PAGE_CAMPAIGNS = """
SELECT context -> 'campaign' ->> 'source', context -> 'campaign' ->> 'medium', count(*)
FROM profiles_profileevent WHERE type = 'page' GROUP BY 1, 2
"""
ORDER_VALUES = """
SELECT count(*), count(*) FILTER (WHERE jsonb_typeof(properties -> 'revenue') = 'number'
                                    AND (properties ->> 'revenue')::numeric > 0
                                    AND properties ->> 'currency' ~ '^[A-Z]{3}$')
FROM profiles_profileevent WHERE name = 'Order Completed'
"""


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.fixture(scope="module")
def story(django_db_setup, django_db_blocker, live_server, tmp_path_factory):
    """The figures of the loaded year, counted once."""
    with django_db_blocker.unblock(), override_settings(VAR_DIR=tmp_path_factory.mktemp("v")):
        try:
            load_demo_data(url=live_server.url, customers=CUSTOMERS, seed=SEED, end=END)
            while processing.process_inbox_batch():
                pass
            yield {
                name: _rows(sql)
                for name, sql in [
                    ("orders", ORDERS),
                    ("per_month", PER_MONTH),
                    ("per_weekday", PER_WEEKDAY),
                    ("repeats", REPEATS_BY_FIRST_TOUCH),
                    ("sale_opens", SALE_OPENS),
                    ("page_campaigns", PAGE_CAMPAIGNS),
                    ("order_values", ORDER_VALUES),
                ]
            }
        finally:
            call_command("flush", interactive=False, verbosity=0)


def test_orders_peak_at_the_year_end(story):
    months = dict(story["per_month"])
    assert months[12] > 1.3 * months[10]  # December over October
    assert months[12] > max(months[m] for m in range(2, 11))  # no month of the year beats it


def test_weekends_are_the_busiest_days(story):
    days = dict(story["per_weekday"])
    weekend = (days[6] + days[7]) / 2
    weekdays = sum(days[d] for d in range(1, 5)) / 4  # Monday to Thursday
    assert weekend > 1.15 * weekdays


def test_facebook_brings_customers_who_order_once(story):
    by_channel = {channel: (customers, repeat) for channel, customers, repeat in story["repeats"]}
    assert {"facebook", "google", "direct"} <= set(by_channel)
    rate = {channel: repeat / customers for channel, (customers, repeat) in by_channel.items()}
    others = [c for c in by_channel if c != "facebook"]
    assert by_channel["facebook"][0] >= 10  # enough customers to tell
    assert rate["facebook"] < min(rate["google"], rate["direct"])
    others_rate = sum(by_channel[c][1] for c in others) / sum(by_channel[c][0] for c in others)
    assert rate["facebook"] < others_rate / 2


def test_the_sale_newsletter_clickers_order_more_than_those_who_only_opened(story):
    opens = {clicked: (n, ordered) for clicked, n, ordered in story["sale_opens"]}
    assert opens[True][0] >= 20 and opens[False][0] >= 20
    clickers, openers = (opens[c][1] / opens[c][0] for c in (True, False))
    assert clickers > 2 * openers


def test_page_views_carry_their_campaign(story):
    found = {(source, medium): n for source, medium, n in story["page_campaigns"]}
    for channel in [("google", "cpc"), ("facebook", "social"), ("newsletter", "email")]:
        assert found.get(channel, 0) > 0, channel
    direct = found[None, None]
    tagged = sum(n for key, n in found.items() if key != (None, None))
    assert 0 < tagged < direct  # most page views are not a campaign's landing page


def test_orders_state_revenue_and_currency(story):
    (orders,) = story["orders"][0]
    assert orders > CUSTOMERS  # many customers order more than once
    assert story["order_values"] == [(orders, orders)]
