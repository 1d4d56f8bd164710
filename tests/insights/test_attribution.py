"""Attribution and revenue: the period's orders credited to the channels that brought the
buyers (first touch, last touch, linear) in a lookback window, per currency; the page,
its CSV, the API, the people behind a number, and bad input."""

import csv
import io
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode
from urllib.parse import urlencode as _urlencode

import pytest
from django.utils import timezone

from insights.attribution import selectors
from insights.periods import Period
from segments.models import Segment
from tests.profiles.conftest import message, profile_of
from tests.segments.test_rule_hostile_strings import HOSTILE

pytestmark = pytest.mark.django_db
DAY = 24 * 60
SHOP = "https://shop.example"
NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}


def period(lookback_start=date(2026, 11, 1)):
    return Period(lookback_start, date(2026, 11, 30), "week", timezone.get_current_timezone())


def visit(user, days, *, utm="", referrer=""):
    properties = {"url": f"{SHOP}/{'?' + utm if utm else ''}", "path": "/"}
    if referrer:
        properties["referrer"] = referrer
    return message("page", userId=user, minutes=days * DAY, properties=properties)


def order(user, days, **properties):
    return message(userId=user, event="Order Completed", minutes=days * DAY, properties=properties)


@pytest.fixture
def orders(web, send):
    """Five buyers in November 2026 (T0 = 1 November, 12:00 UTC):

    ann: google/cpc on day 0, a news site on day 5, orders 100 EUR on day 10;
    bob: a direct visit, orders "40.50" (a string, no currency: the default USD);
    cat: facebook 60 days before (past the 30-day lookback), the newsletter on day 3,
         orders 30 USD on day 4 and 20 "usd" on day 20;
    dan: google/cpc on day 1, orders "abc" EUR (no amount);
    eve: orders 5 in a currency that is no code (XXX)."""
    send(
        web,
        visit("ann", 0, utm="utm_source=google&utm_medium=cpc&utm_campaign=spring"),
        visit("ann", 5, referrer="https://www.news.example/a"),
        order("ann", 10, revenue=100, currency="EUR"),
        visit("bob", 1),
        order("bob", 2, total="40.50"),
        visit("cat", -60, utm="utm_source=facebook&utm_medium=social"),
        visit("cat", 3, utm="utm_source=newsletter&utm_medium=email"),
        order("cat", 4, revenue=30, currency="USD"),
        order("cat", 20, revenue=20, currency="usd"),
        visit("dan", 1, utm="utm_source=google&utm_medium=cpc"),
        order("dan", 2, revenue="abc", currency="EUR"),
        order("eve", 6, revenue=5, currency="<script>"),
        order("ann", 45, revenue=999, currency="EUR"),  # December: outside the period
    )


def credit(found, channel, model, currency):
    by_name = {c.name: c for c in found.channels}
    return by_name[channel].credit[model].get(currency)


def test_orders_are_credited_by_first_touch_last_touch_and_linear(orders):
    found = selectors.attribute(period(), event="Order Completed", lookback=30, by="source")

    assert credit(found, "google", "first", "EUR") == [1 + 1, Decimal(100)]  # ann, dan
    assert credit(found, "news.example", "first", "EUR") is None or (
        credit(found, "news.example", "first", "EUR")[0] == 0
    )
    assert credit(found, "news.example", "last", "EUR") == [1, Decimal(100)]
    assert credit(found, "google", "last", "EUR") == [1, Decimal(0)]  # dan's order, no amount
    assert credit(found, "google", "linear", "EUR")[1] == Decimal(50)
    assert credit(found, "news.example", "linear", "EUR")[1] == Decimal(50)
    assert credit(found, "newsletter", "first", "USD") == [2, Decimal(50)]
    assert credit(found, "(direct)", "last", "USD") == [1, Decimal("40.50")]
    assert credit(found, "(direct)", "first", "XXX") == [1, Decimal(5)]
    assert "facebook" not in {c.name for c in found.channels}


def test_each_currency_is_totalled_apart_and_every_model_credits_all_of_it(orders):
    found = selectors.attribute(period(), event="Order Completed", lookback=30, by="medium")

    assert {c: (t.orders, t.revenue, t.with_amount) for c, t in found.totals.items()} == {
        "EUR": (2, Decimal(100), 1),
        "USD": (3, Decimal("90.50"), 3),
        "XXX": (1, Decimal(5), 1),
    }
    for currency, total in found.totals.items():
        for model in selectors.MODELS:
            credited = [c.credit[model].get(currency) for c in found.channels]
            assert sum(c[0] for c in credited if c) == total.orders
            assert sum(c[1] for c in credited if c) == total.revenue
    assert credit(found, "(none)", "first", "USD") == [1, Decimal("40.50")]  # bob, direct


def test_a_longer_lookback_reaches_older_touches(orders):
    found = selectors.attribute(period(), event="Order Completed", lookback=90, by="source")

    assert credit(found, "facebook", "first", "USD") == [2, Decimal(50)]
    assert credit(found, "newsletter", "last", "USD") == [2, Decimal(50)]
    assert credit(found, "facebook", "linear", "USD")[1] == Decimal(25)


def test_by_campaign_names_the_utm_campaign(orders):
    found = selectors.attribute(period(), event="Order Completed", lookback=30, by="campaign")

    assert credit(found, "spring", "first", "EUR") == [1, Decimal(100)]


def test_the_page_draws_a_chart_per_currency_with_its_table_and_csv(orders, marketer_client):
    page = marketer_client.get("/insights/attribution/?" + urlencode(NOVEMBER))
    html = page.content.decode()
    assert page.status_code == 200
    for currency in ("EUR", "USD", "XXX"):
        assert f"Revenue in {currency} by source" in html
    assert 'data-chart="attribution-chart-0"' in html and "<details>" in html
    assert "/insights/attribution/people/" in html  # a marketer may list the buyers

    download = marketer_client.get("/insights/attribution/?" + urlencode(NOVEMBER) + "&format=csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0][:4] == ["source", "currency", "first touch orders", "first touch revenue"]
    assert ["news.example", "EUR", "0.0", "0.0", "1.0", "100.0", "0.5", "50.0"] in rows


def test_a_period_without_orders_says_what_to_do(orders, marketer_client):
    page = marketer_client.get("/insights/attribution/?start=2025-01-01&end=2025-01-31")
    assert page.status_code == 200
    assert "No “Order Completed” events in this period" in page.content.decode()


def test_the_api_answers_the_same_numbers_with_as_of_to_a_viewer(orders, client, make_user):
    client.force_login(make_user("Viewer"))
    body = client.get("/api/v1/insights/attribution/?" + urlencode(NOVEMBER)).json()

    assert body["as_of"] and body["event"] == "Order Completed" and body["lookback"] == 30
    assert body["totals"]["USD"] == {"orders": 3, "revenue": 90.5, "orders_with_amount": 3}
    google = next(c for c in body["channels"] if c["channel"] == "google")
    assert google["credit"]["first"]["EUR"] == {"orders": 2.0, "revenue": 100.0}


def test_a_viewer_sees_the_numbers_but_not_the_people(orders, client, make_user):
    client.force_login(make_user("Viewer"))
    page = client.get("/insights/attribution/?" + urlencode(NOVEMBER)).content.decode()
    assert "news.example" in page and "/insights/attribution/people/" not in page
    query = urlencode({**NOVEMBER, "channel": "google", "model": "first"})
    assert client.get(f"/insights/attribution/people/?{query}").status_code == 403


def test_the_buyers_behind_a_channel_are_listed_and_saved_as_a_segment(orders, marketer_client):
    query = urlencode({**NOVEMBER, "channel": "google", "model": "first"})
    page = marketer_client.get(f"/insights/attribution/people/?{query}")
    assert page.status_code == 200 and "2 people" in page.content.decode()

    response = marketer_client.post(
        f"/insights/attribution/people/?{query}",
        {**NOVEMBER, "channel": "google", "model": "first", "name": "Google buyers"},
    )
    segment = Segment.objects.get(name="Google buyers")
    assert response.status_code == 302 and segment.kind == Segment.Kind.STATIC
    assert set(segment.memberships.values_list("profile_id", flat=True)) == {
        profile_of("user_id", "ann").pk,
        profile_of("user_id", "dan").pk,
    }


@pytest.mark.parametrize(
    "query, field",
    [
        ({"start": "2026-11-30", "end": "2026-11-01"}, "end"),
        ({"start": "2020-01-01", "end": "2026-11-01"}, "end"),
        ({"lookback": "0"}, "lookback"),
        ({"lookback": "91"}, "lookback"),
        ({"lookback": "1e9"}, "lookback"),
        ({"by": "source; DROP TABLE x"}, "by"),
        ({"start": "yesterday"}, "start"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(marketer_client, query, field):
    page = marketer_client.get("/insights/attribution/?" + urlencode(query))
    assert page.status_code == 400 and 'role="alert"' in page.content.decode()
    response = marketer_client.get("/api/v1/insights/attribution/?" + urlencode(query))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_in_every_field_never_fail(orders, marketer_client, hostile):
    def urlencode(fields):  # a lone surrogate goes as the invalid bytes it would be
        return _urlencode(fields, encoding="utf-8", errors="surrogatepass")

    for field in ("event", "by", "lookback", "start"):
        query = urlencode({**NOVEMBER, field: hostile})
        assert marketer_client.get(f"/insights/attribution/?{query}").status_code in (200, 400)
        assert marketer_client.get(f"/api/v1/insights/attribution/?{query}").status_code in (
            200,
            400,
        )
    people = urlencode({**NOVEMBER, "channel": hostile, "model": "linear"})
    assert marketer_client.get(f"/insights/attribution/people/?{people}").status_code in (200, 400)


def test_the_api_lists_the_buyers_behind_a_number(orders, marketer_client):
    query = urlencode({**NOVEMBER, "channel": "newsletter", "model": "last"})
    body = marketer_client.get(f"/api/v1/insights/attribution/people/?{query}").json()

    assert body["count"] == 1 and body["profiles"] == [profile_of("user_id", "cat").pk]
    assert body["as_of"] and "newsletter" in body["describe"]


@pytest.mark.parametrize(
    "role, query, status",
    [
        ("Viewer", {"channel": "google", "model": "first"}, 403),
        ("Account manager", {"channel": "google", "model": "first"}, 200),
        ("Account manager", {"channel": "google", "model": "best"}, 400),
        ("Account manager", {"model": "first"}, 400),
        ("Account manager", {"channel": "google", "model": "first", "limit": "0"}, 400),
        ("Account manager", {"channel": "google", "model": "first", "limit": "1001"}, 400),
    ],
)
def test_the_people_api_checks_the_role_and_the_question(
    orders, client, make_user, role, query, status
):
    client.force_login(make_user(role))
    response = client.get("/api/v1/insights/attribution/people/?" + urlencode(query))
    assert response.status_code == status


def test_a_report_past_its_time_limit_says_to_ask_for_less(orders, marketer_client, monkeypatch):
    # A statement that outlives the limit, run by the real time limit in PostgreSQL.
    monkeypatch.setattr(selectors, "TIME_LIMIT_MS", 50)
    monkeypatch.setattr(selectors, "report_sql", lambda by: "SELECT pg_sleep(1)")

    page = marketer_client.get("/insights/attribution/?" + urlencode(NOVEMBER))
    assert page.status_code == 200 and "takes too long to count" in page.content.decode()
    api = marketer_client.get("/api/v1/insights/attribution/?" + urlencode(NOVEMBER))
    assert api.status_code == 400 and "end" in api.json()["error"]["fields"]


def test_a_click_within_the_shop_is_no_touch(web, send):
    # Internal page views have a referrer (the shop itself, "www." or not, another port):
    # the index of touches leaves them out and so must the report: the order stays the
    # campaign's under every model.
    send(
        web,
        visit("fay", 1, utm="utm_source=google&utm_medium=cpc"),
        visit("fay", 2, referrer=f"{SHOP}/c/shoes"),
        visit("fay", 3, referrer="https://WWW.shop.example:8443/cart"),
        order("fay", 4, revenue=10, currency="EUR"),
    )
    found = selectors.attribute(period(), event="Order Completed", lookback=30, by="source")
    assert [c.name for c in found.channels] == ["google"]
    for model in selectors.MODELS:
        assert credit(found, "google", model, "EUR") == [1, Decimal(10)]


def test_the_touch_index_holds_what_the_queries_ask_for(orders):
    # The partial index's condition is the queries' own text: PostgreSQL uses an index
    # only when it proves the query's condition implies the index's.
    from importlib import import_module

    from django.db import connection

    from profiles import attribution

    migration = import_module("profiles.migrations.0012_attribution_external_touch")
    sql = attribution.channel_sql("context")
    assert f"{sql['candidate']} AND {sql['touch']}" == migration.TOUCH
    params = selectors._params(period(), event="Order Completed", lookback=30, by="source")
    with connection.cursor() as cursor:
        # Within the test's transaction: without the other indexes on the profile, the
        # report (and a profile's last touch) reads the touches through this one, or
        # scans the table.
        for name in ("profileevent_profile_time", "profileevent_profile_name"):
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + selectors.report_sql("source"), params)
        report = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + attribution.REFRESH, {"ids": [1], "keys": attribution.KEYS})
        refresh = "\n".join(row[0] for row in cursor.fetchall())
    assert "profileevent_external_touch" in report, report
    assert "profileevent_external_touch" in refresh, refresh


def test_an_order_looks_at_its_latest_touches_only(web, send, monkeypatch):
    """A buyer with more touches in the window than MAX_TOUCHES (a bot, a test account:
    the issue's profile with 100,000 events) is credited by the latest ones, so the report
    stays bounded: here the one touch from google falls out of a cap of 3."""
    monkeypatch.setattr(selectors, "MAX_TOUCHES", 3)
    send(
        web,
        visit("zed", 1, utm="utm_source=google&utm_medium=cpc"),
        *(visit("zed", days, utm="utm_source=newsletter") for days in (2, 3, 4, 5)),
        order("zed", 6, revenue=10, currency="EUR"),
    )
    found = selectors.attribute(period(), event="Order Completed", lookback=30, by="source")
    assert [c.name for c in found.channels] == ["newsletter"]
    assert credit(found, "newsletter", "first", "EUR") == [1, Decimal(10)]
    assert round(credit(found, "newsletter", "linear", "EUR")[0], 6) == 1
    monkeypatch.setattr(selectors, "MAX_TOUCHES", 50)
    found = selectors.attribute(period(), event="Order Completed", lookback=30, by="source")
    assert credit(found, "google", "first", "EUR") == [1, Decimal(10)]
