"""The home page (served by insights) and /api/v1/insights/dashboard/: each tile equals
what was sent, viewers see the numbers without links to pages they may not open, a fresh
install says what to do, one failing tile or health check costs itself only."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Delivery, Enrollment
from cdp_site import health
from cdp_site.permissions import ADMIN, MARKETER, VIEWER
from insights import tasks
from insights.dashboard import selectors, sparkline
from integrations import services as integrations
from integrations.collect.messages import Rejection
from integrations.destinations import services as destinations
from integrations.imports.models import FileImport
from segments.models import Segment, SizeSample
from tests.profiles.conftest import message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_revenue():
    """The revenue is kept a minute in Redis, which outlives each test's rollback."""
    selectors.forget_revenue()
    yield
    selectors.forget_revenue()


def text(response) -> str:
    """The page's words, without tags."""
    return " ".join(re.sub(r"<[^>]+>", "", response.content.decode()).split())


def now_message(type_="track", **fields):
    return message(type_, timestamp=timezone.now().isoformat(), **fields)


@pytest.fixture
def shop(web, send):
    """Four identified people (three ordered in the last 30 days, one 40 days ago) and one
    anonymous visitor: seven events received now."""
    old = (timezone.now() - timedelta(days=40)).isoformat()
    send(
        web,
        now_message("identify", userId="u1", traits={"email": "a@example.org"}),
        now_message("page", anonymousId="anon-1", properties={"path": "/"}),
        now_message(userId="u1", event="Order Completed", properties={"revenue": 120.5}),
        now_message(
            userId="u2", event="Order Completed", properties={"total": "30", "currency": "eur"}
        ),
        now_message(
            userId="u3", event="Order Completed", properties={"revenue": 10, "currency": "USD"}
        ),
        now_message(userId="u3", event="Product Viewed", properties={"revenue": 999}),
        message(userId="u4", event="Order Completed", timestamp=old, properties={"revenue": 7}),
    )
    return web


def test_each_tile_equals_what_was_sent(shop, client_as):
    body = client_as(VIEWER).get("/api/v1/insights/dashboard/").json()
    tiles = body["tiles"]
    assert tiles["profiles"]["total"] == {"value": 5, "how": "exact"}
    assert (tiles["profiles"]["identified"], tiles["profiles"]["anonymous"]) == (4, 1)
    assert tiles["events"]["today"] == 7 and tiles["events"]["week"] == 7
    assert [(s["name"], s["total"]) for s in tiles["events"]["sources"]] == [("Webshop", 7)]
    assert tiles["events"]["per_day"][-1] == {"day": str(timezone.localdate()), "value": 7}
    assert tiles["new_customers"]["count"] == 3  # u1, u2, u3: u4 ordered 40 days ago
    # u1's order names no currency: the default (USD), as the attribution report counts it.
    assert tiles["revenue"]["currencies"] == [
        {"currency": "USD", "revenue": 130.5, "orders": 2},
        {"currency": "EUR", "revenue": 30.0, "orders": 1},
    ]
    assert tiles["stages"]["people"] == {
        "orientation": 1,
        "consideration": 0,
        "acquisition": 0,
        "retention": 4,
        "lapsed": 0,
    }
    assert tiles["health"]["ok"] is True
    assert body["as_of"] == min(tile["as_of"] for tile in tiles.values())


def test_the_page_shows_the_same_numbers_and_how_current_they_are(shop, client_as):
    response = client_as(MARKETER).get("/")
    page = text(response)
    assert response.status_code == 200
    assert "Profiles 5 4 identified · 1 anonymous" in page
    assert "Events today 7 7 in 7 days; 7 stored" in page
    assert "New customers, 30 days 3" in page
    assert "Revenue, 30 days 130.50 USD 2 orders; 30.00 EUR" in page
    assert "Retention: 4 (80.0 %)" in page
    assert "Figures current to" in page and "No data yet" not in page
    assert response.content.decode().count('<svg class="sparkline"') >= 4


def test_the_revenue_tile_reads_a_sources_amount_property_and_currency(shop, send, client_as):
    till = integrations.create_source(
        name="Till", kind="point_of_sale", revenue_property="amount", currency="EUR"
    )
    send(
        till,
        now_message(userId="u5", event="Order Completed", properties={"amount": 8, "revenue": 99}),
        now_message(
            userId="u5", event="Order Completed", properties={"amount": "2", "currency": "GBP"}
        ),
    )
    tiles = client_as(VIEWER).get("/api/v1/insights/dashboard/").json()["tiles"]
    assert tiles["revenue"]["currencies"] == [
        {"currency": "USD", "revenue": 130.5, "orders": 2},
        {"currency": "EUR", "revenue": 38.0, "orders": 2},  # 30 from the shop, 8 from the till
        {"currency": "GBP", "revenue": 2.0, "orders": 1},
    ]


def test_the_revenue_is_kept_a_minute_and_read_ahead_by_the_scheduled_task(shop, send, client_as):
    viewer = client_as(VIEWER)

    def eur():
        revenue = viewer.get("/api/v1/insights/dashboard/").json()["tiles"]["revenue"]
        return [c for c in revenue["currencies"] if c["currency"] == "EUR"], revenue["as_of"]

    before, read_at = eur()
    assert before == [{"currency": "EUR", "revenue": 30.0, "orders": 1}]
    send(
        shop,
        now_message(
            userId="u5", event="Order Completed", properties={"revenue": 5, "currency": "EUR"}
        ),
    )
    assert eur() == (before, read_at)  # kept: the page does not read the orders again
    tasks.refresh_dashboard()
    after, refreshed_at = eur()
    assert after == [{"currency": "EUR", "revenue": 35.0, "orders": 2}]
    assert refreshed_at > read_at


def test_segments_with_the_largest_change_in_seven_days_come_first(client_as, db):
    now = timezone.now()
    grew = Segment.objects.create(name="Grew", rule={}, member_count=25, computed_at=now)
    SizeSample.objects.create(segment=grew, at=now - timedelta(days=8), size=10)
    SizeSample.objects.create(segment=grew, at=now - timedelta(days=1), size=25)
    shrank = Segment.objects.create(name="Shrank", rule={}, member_count=2, computed_at=now)
    SizeSample.objects.create(segment=shrank, at=now - timedelta(days=9), size=50)
    new = Segment.objects.create(name="New", rule={}, member_count=5, computed_at=now)
    SizeSample.objects.create(segment=new, at=now - timedelta(days=2), size=5)
    Segment.objects.create(name="Same", rule={}, member_count=3, computed_at=now)
    same = Segment.objects.get(name="Same")
    SizeSample.objects.create(segment=same, at=now - timedelta(days=8), size=3)

    tile = client_as(VIEWER).get("/api/v1/insights/dashboard/").json()["tiles"]["segments"]
    assert [(s["name"], s["size"], s["before"], s["change"]) for s in tile["segments"]] == [
        ("Shrank", 2, 50, -48),
        ("Grew", 25, 10, 15),
        ("New", 5, None, 5),
    ]
    assert tile["segments"][1]["samples"] == [25]
    page = text(client_as(MARKETER).get("/"))
    assert "Shrank: 2 (-48) Grew: 25 (+15) New: 5 (+5, new)" in page


def test_running_campaigns_show_their_sends_and_conversions(client_as, db):
    running = Campaign.objects.create(name="Welcome", kind="event", status="active")
    Campaign.objects.create(name="Draft", kind="event")
    for i, status in enumerate(["sent", "sent", "sent", "failed"]):
        Delivery.objects.create(
            idempotency_key=f"k{i}",
            campaign=running,
            profile_id=i,
            step_id="s1",
            channel="email",
            status=status,
        )
    now = timezone.now()
    for i in range(2):
        Enrollment.objects.create(
            campaign=running, profile_id=i, entered_at=now, converted_at=now if i else None
        )
    tile = client_as(VIEWER).get("/api/v1/insights/dashboard/").json()["tiles"]["campaigns"]
    assert tile["running"] == 1
    assert tile["campaigns"] == [
        {
            "id": running.pk,
            "name": "Welcome",
            "sent": {"value": 3, "how": "exact"},
            "converted": {"value": 1, "how": "exact"},
        }
    ]
    response = client_as(MARKETER).get("/")
    assert f'href="/campaigns/{running.pk}/">Welcome</a>' in response.content.decode()
    assert "Running campaigns 1 Welcome: 3 sent · 1 converted" in text(response)


def test_rejections_failed_imports_and_dead_letters_are_warnings(web, client_as):
    Segment.objects.create(name="Broken", rule={}, compute_error="statement timeout")
    integrations.record_rejections(
        source_id=web.pk,
        rejections=[Rejection("invalid_type", "type must be one of ...", None)] * 2,
    )
    FileImport.objects.create(
        source=web,
        original_name="crm.csv",
        stored_name="x",
        format="csv",
        sha256="0",
        status=FileImport.Status.FAILED,
    )
    hook = destinations.create_destination(
        name="Hook", kind="webhook", config={"url": "http://127.0.0.1:9/"}
    )
    destinations.record_dead_letter(
        destination=hook, payload={}, idempotency_key="k", error="HTTP 500", attempts=5
    )
    response = client_as(ADMIN).get("/")
    admin, page = response.content.decode(), text(response)
    assert "Rejected events, last 24 h: 2 (needs a look)" in page
    assert "Failed imports, last 7 days: 1 (needs a look)" in page
    assert "Dead letters waiting: 1 (needs a look)" in page
    assert "Segments failing to compute: 1 (needs a look)" in page
    assert "Quarantined events: 0" in page
    assert 'href="/integrations/destinations/dead-letters/">Dead letters waiting</a>' in admin
    checks = client_as(VIEWER).get("/api/v1/insights/dashboard/").json()["tiles"]["health"]
    assert checks["ok"] is False
    assert {c["name"]: c["count"] for c in checks["checks"]} == {
        "dead_letters": 1,
        "failed_imports": 1,
        "failing_segments": 1,
        "quarantined_events": 0,
        "rejected_events": 2,
    }


def test_a_viewer_sees_the_numbers_without_links_to_pages_it_may_not_open(shop, client_as):
    segment = Segment.objects.create(name="Buyers", rule={}, member_count=4)
    response = client_as(VIEWER).get("/")
    html = response.content.decode()
    assert response.status_code == 200 and "Profiles 5" in text(response)
    for hidden in ('href="/profiles/"', 'href="/integrations/', f'href="/segments/{segment.pk}/"'):
        assert hidden not in html
    assert 'href="/insights/journey/">People per stage</a>' in html  # viewers read insights
    marketer = client_as(MARKETER).get("/").content.decode()
    assert 'href="/profiles/">Profiles</a>' in marketer
    assert f'href="/segments/{segment.pk}/">Buyers</a>' in marketer
    assert 'href="/integrations/' not in marketer  # integrations are the admins'
    assert 'href="/integrations/">Events today</a>' in client_as(ADMIN).get("/").content.decode()


def test_a_fresh_install_says_what_to_do(client_as):
    viewer = client_as(VIEWER)
    response = viewer.get("/")
    assert response.status_code == 200
    page = text(response)
    assert "No data yet." in page and "under Integrations" in page
    assert "No campaign is running" in page and "No segment changed size" in page
    tiles = viewer.get("/api/v1/insights/dashboard/").json()["tiles"]
    assert tiles["profiles"]["total"]["value"] == 0 and tiles["events"]["today"] == 0
    assert tiles["revenue"]["currencies"] == [] and tiles["new_customers"]["count"] == 0
    assert not any("error" in t for t in tiles.values())


def test_a_failing_tile_costs_itself_only(shop, client_as, monkeypatch):
    def broken(w):
        raise RuntimeError("boom")

    monkeypatch.setitem(selectors.TILES, "segments", broken)
    viewer = client_as(VIEWER)
    response = viewer.get("/")
    assert response.status_code == 200
    page = text(response)
    assert "Segments changing most, 7 days unreadable · see the server log" in page
    assert "Profiles 5" in page and "New customers, 30 days 3" in page
    tiles = viewer.get("/api/v1/insights/dashboard/").json()["tiles"]
    assert tiles["segments"] == {"error": "unreadable"} and tiles["new_customers"]["count"] == 3


def test_a_failing_health_check_costs_itself_only(web, client_as, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(health._checks, "broken", health.Check(label="Broken check", read=broken))
    page = text(client_as(VIEWER).get("/"))
    assert "Broken check: unreadable (needs a look)" in page
    assert "Dead letters waiting: 0" in page
    assert health.counts()["broken"] == {"label": "Broken check", "error": "RuntimeError"}


def test_past_ten_thousand_profiles_the_figure_is_the_tables_estimate(client_as, many_profiles):
    many_profiles(10_500)
    page = text(client_as(VIEWER).get("/"))
    assert "Profiles About 10," in page and "estimate from table statistics" in page
    # None of the inserted profiles holds an identifier: the sample says all are anonymous.
    assert "0 identified · 10," in page and "(share from a sample)" in page


def test_the_api_needs_a_login_and_is_in_the_schema(client, client_as):
    assert client.get("/api/v1/insights/dashboard/").status_code in (401, 403)
    viewer = client_as(VIEWER)
    body = viewer.get("/api/v1/insights/dashboard/").json()
    assert body["as_of"] and body["time_zone"] and set(body["tiles"]) == set(selectors.TILES)
    schema = viewer.get("/api/schema/").content.decode()
    assert "/api/v1/insights/dashboard/" in schema and "as_of" in schema


def test_a_sparkline_scales_its_values_into_its_box():
    assert sparkline.points([]) == ""
    assert sparkline.points([0, 10], width=12, height=12) == "2.0,10.0 10.0,2.0"
    assert sparkline.points([5], width=12, height=12) == "2.0,2.0 10.0,2.0"
