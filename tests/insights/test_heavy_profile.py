"""Bad input from the issue: "a profile with 100,000 events". Every report (journey view,
its people, retention, lifecycle, paths, funnels, attribution, RFM, the dashboard) and
the profile's own pages answer it in bounded time with sensible numbers (the person
counts once), never a 500.

The 100,000 events are written by one INSERT ... SELECT generate_series, copying three
events the collection pipeline stored for the same profile (a page view, a product view,
an order with revenue and a campaign), spread evenly over the last 60 days."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.utils import timezone

from insights.paths.selectors import SAMPLE
from profiles.computed import scores
from profiles.models import ProfileEvent
from tests.profiles.conftest import message, profile_of

pytestmark = pytest.mark.django_db
EVENTS = 100_000
DAYS = 60
ORDER = "Order Completed"
VIEW = "Product Viewed"
CAMPAIGN = {"source": "newsletter", "medium": "email", "name": "winter"}
# Six page views, three product views and one order in every ten events.
COPIES = """
WITH templates AS (
    SELECT row_number() OVER (ORDER BY event_id) - 1 AS k, *
    FROM profiles_profileevent WHERE profile_id = %(profile)s
)
INSERT INTO profiles_profileevent
    (event_id, received_at, profile_id, identity_id, source_id, type, name, "timestamp",
     properties, context)
SELECT %(first_id)s + g, now(), t.profile_id, t.identity_id, t.source_id, t.type, t.name,
       now() - (g * %(step)s::interval), t.properties, t.context
FROM generate_series(1, %(events)s) g
JOIN templates t ON t.k = CASE WHEN g %% 10 < 6 THEN 0 WHEN g %% 10 < 9 THEN 1 ELSE 2 END
"""


def ago(days: float):
    return (timezone.now() - timedelta(days=days)).isoformat()


@pytest.fixture
def heavy(web, send):
    """One profile with 100,003 events, and two light ones with a page view each."""
    send(
        web,
        message("page", userId="heavy", timestamp=ago(DAYS), properties={"path": "/shop?x=1"}),
        message(userId="heavy", event=VIEW, timestamp=ago(DAYS), properties={"sku": "T-1"}),
        message(
            userId="heavy",
            event=ORDER,
            timestamp=ago(DAYS),
            properties={"revenue": 25, "currency": "EUR", "order_id": "o-1"},
            context={"campaign": CAMPAIGN},
        ),
        message("page", userId="light1", timestamp=ago(3), properties={"path": "/"}),
        message("page", userId="light2", timestamp=ago(2), properties={"path": "/"}),
    )
    profile = profile_of("user_id", "heavy")
    assert ProfileEvent.objects.filter(profile=profile).count() == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(event_id) FROM profiles_profileevent")
        first_id = cursor.fetchone()[0] + 1_000
        cursor.execute(
            COPIES,
            {
                "profile": profile.pk,
                "first_id": first_id,
                "step": f"{DAYS * 86400 / EVENTS} seconds",
                "events": EVENTS,
            },
        )
        cursor.execute("ANALYZE profiles_profileevent")
    return profile


def period(**extra) -> str:
    today = timezone.localdate()
    fields = {"start": today - timedelta(days=DAYS + 1), "end": today, **extra}
    return urlencode(fields)


def both(client, path: str, query: str, api: str | None = None):
    """The page and its API (``api``, default the same path under /api/v1/): each 200."""
    page = client.get(f"/insights/{path}/?{query}")
    assert page.status_code == 200, (path, page.status_code)
    assert "too long" not in page.content.decode(), path  # answered, not given up on
    body = client.get(f"/api/v1/insights/{api or path}/?{query}")
    assert body.status_code == 200, (path, body.content[:500])
    return page, body.json()


def people(client, report: str, query: str) -> dict:
    """The people behind a number: the page lists as many as the API counts."""
    page = client.get(f"/insights/{report}/people/?{query}")
    assert page.status_code == 200 and "too long" not in page.content.decode(), report
    body = client.get(f"/api/v1/insights/{report}/people/?{query}").json()
    assert page.context["total"] == body["count"] == len(set(body["profiles"])), report
    return body


def test_the_events_are_there(heavy):
    assert ProfileEvent.objects.filter(profile=heavy).count() == EVENTS + 3
    orders = ProfileEvent.objects.filter(profile=heavy, name=ORDER)
    assert orders.count() == EVENTS // 10 + 1
    assert orders.filter(properties__revenue=25, context__campaign__source="newsletter").exists()


def test_the_journey_view_and_its_people(heavy, client_as):
    client = client_as("Marketer")
    page, body = both(client, "journey", period())
    assert "as_of" in body
    for stage, per_bucket in body["people"].items():
        assert all(n <= 3 for n in per_bucket), stage  # three people: each counts once
    _, by_trait = both(client, "journey", period(by="trait", trait="plan"))
    assert "as_of" in by_trait
    for flow in body["flows"]:
        if flow["people"]:
            query = period(kind="flow", stage=flow["from"], to_stage=flow["to"])
            assert people(client, "journey", query)["count"] == flow["people"]


def test_retention_counts_the_person_once(heavy, client_as):
    query = period(returning_event=ORDER, cohort_by="first_seen")
    _, body = both(client_as("Viewer"), "retention", query)
    assert sum(body["sizes"]) == 3 and max(body["sizes"]) <= 2


def test_lifecycle_and_its_people_count_the_person_once(heavy, client_as):
    client = client_as("Marketer")
    _, body = both(client, "lifecycle", period(granularity="week"))
    active = [sum(body[k][i] for k in ("new", "returning", "resurrecting")) for i in range(9)]
    assert max(active) <= 3 and sum(body["new"]) == 3
    week = body["buckets"][-2]
    query = period(granularity="week", kind="returning", bucket=week)
    assert people(client, "lifecycle", query)["profiles"] == [heavy.pk]


def test_paths_from_an_event_the_person_did_thirty_thousand_times(heavy, client_as):
    _, body = both(client_as("Marketer"), "paths", period(event=VIEW, steps=3))
    # 30,001 product views: the most recent SAMPLE of them are read, each walked once.
    assert body["starts"] == SAMPLE and body["sampled"]
    assert sum(body["steps"][0].values()) == SAMPLE


def test_a_funnel_counts_the_person_once(heavy, client_as):
    query = period(event_1=VIEW, event_2=ORDER, event_3=VIEW)
    _, body = both(client_as("Marketer"), "funnels", query, api="funnel")
    assert body["people"] == [1, 1, 1]  # 30,000 product views and 10,000 orders: one person


def test_attribution_credits_every_order_and_lists_the_buyer_once(heavy, client_as):
    client = client_as("Marketer")
    query = period(by="source")
    _, body = both(client, "attribution", query)
    orders = EVENTS // 10 + 1
    assert body["totals"]["EUR"] == {
        "orders": orders,
        "revenue": 25 * orders,
        "orders_with_amount": orders,
    }
    channels = {c["channel"]: c["credit"] for c in body["channels"]}
    for model in ("first", "last", "linear"):  # every model credits every order, once
        assert sum(c[model].get("EUR", {}).get("orders", 0) for c in channels.values()) == orders
    assert channels["newsletter"]["last"]["EUR"]["orders"] == orders
    listed = people(client, "attribution", f"{query}&channel=newsletter&model=last")
    assert listed["profiles"] == [heavy.pk]


def test_the_rfm_grid_and_its_people(heavy, client_as, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        scores.recompute_scores()
    client = client_as("Marketer")
    _, body = both(client, "rfm", "")
    assert body["customers"] == 1  # the only buyer
    for cell in body["cells"]:
        if cell["customers"]:
            query = f"r={cell['recency']}&f={cell['frequency']}"
            assert people(client, "rfm", query)["count"] == cell["customers"]


def test_the_dashboard(heavy, client_as):
    client = client_as("Marketer")
    assert client.get("/").status_code == 200
    tiles = client.get("/api/v1/insights/dashboard/").json()["tiles"]
    assert tiles["profiles"]["total"]["value"] == 3
    assert tiles["new_customers"]["count"] <= 1


def test_the_profiles_own_pages_show_a_bounded_timeline(heavy, client_as):
    client = client_as("Marketer")
    detail = client.get(f"/profiles/{heavy.pk}/")
    assert detail.status_code == 200
    timeline = client.get(f"/profiles/{heavy.pk}/timeline/", HTTP_HX_REQUEST="true")
    assert timeline.status_code == 200
    assert len(timeline.content) < 2_000_000
    api = client.get(f"/api/v1/profiles/{heavy.pk}/timeline/")
    assert api.status_code == 200
