"""The RFM grid: its counts and revenue equal a from-scratch scoring of the orders sent,
each cell lists (and saves) the people it counted, the scores are segmentable like any
trait, and viewers see the numbers but not the people."""

import csv
import io
import math
from datetime import timedelta

import pytest
from django.utils import timezone

from cdp_site.models import QueuedTask
from insights.rfm import selectors
from profiles.computed import scores
from profiles.models import Profile
from segments import compiler
from segments.models import Segment
from tests.profiles.conftest import message
from tests.support import segment_rules

pytestmark = pytest.mark.django_db

# user: [(days ago, revenue), ...] -- 12 customers with distinct histories, and a browser.
ORDERS = {f"c{n}": [(n * 2 + k * 5, 10.0 * n + k) for k in range(1 + n % 4)] for n in range(12)}


@pytest.fixture
def customers(web, send, django_capture_on_commit_callbacks):
    now = timezone.now()
    sent = [
        message(
            userId=user,
            event="Order Completed",
            properties={"revenue": revenue, "order_id": f"{user}-{days}"},
            timestamp=(now - timedelta(days=days, hours=1)).isoformat(),
        )
        for user, orders in ORDERS.items()
        for days, revenue in orders
    ]
    send(web, *sent, message(userId="browser", event="Product Viewed"))
    with django_capture_on_commit_callbacks(execute=True):  # notes when, after the commit
        scores.recompute_scores()


def quintile(value, population, *, higher_is_better=True) -> int:
    """From scratch: 1 + floor(5 x share of the others strictly worse), at most 5."""
    worse = [v for v in population if (v < value if higher_is_better else v > value)]
    share = len(worse) / (len(population) - 1) if len(population) > 1 else 0
    return min(5, 1 + math.floor(5 * share))


def expected_cells() -> dict[tuple[int, int], tuple[int, float]]:
    days = {u: min(d for d, _ in o) for u, o in ORDERS.items()}
    counts = {u: len(o) for u, o in ORDERS.items()}
    found: dict[tuple[int, int], tuple[int, float]] = {}
    for user, orders in ORDERS.items():
        r = quintile(days[user], list(days.values()), higher_is_better=False)
        f = quintile(counts[user], list(counts.values()))
        n, revenue = found.get((r, f), (0, 0.0))
        found[(r, f)] = (n + 1, revenue + sum(v for _, v in orders))
    return found


def test_the_grid_counts_the_customers_and_revenue_sent_per_cell(customers):
    grid = selectors.grid()
    expected = expected_cells()
    found = {cell: (n, grid.revenue[cell]) for cell, n in grid.customers.items() if n}
    assert found.keys() == expected.keys()
    for cell, (n, revenue) in expected.items():
        assert found[cell][0] == n
        assert found[cell][1] == pytest.approx(revenue)
    assert grid.total == len(ORDERS)  # the browser never ordered: no customer


def test_each_segment_sums_its_cells_and_matches_the_trait_stored(customers):
    grid = selectors.grid()
    stored = {}
    for profile in Profile.objects.filter(computed__has_key="rfm_segment"):
        stored[profile.computed["rfm_segment"]] = stored.get(profile.computed["rfm_segment"], 0) + 1
    assert {name: n for name, n, _ in grid.segments() if n} == stored
    assert sum(n for _, n, _ in grid.segments()) == len(ORDERS)


def test_rfm_segments_are_segmentable_like_any_computed_trait(customers):
    grid = dict((name, n) for name, n, _ in selectors.grid().segments())
    for name in ("Champions", "Hibernating"):
        rule = segment_rules.rule(
            {"type": "computed", "key": "rfm_segment", "op": "equals", "value": name}
        )
        assert compiler.queryset(rule).count() == grid[name]
    high = segment_rules.rule(
        {"type": "computed", "key": "frequency_score", "op": "gt", "value": 3}
    )
    cells = selectors.grid().customers
    assert compiler.queryset(high).count() == sum(n for (_, f), n in cells.items() if f >= 4)


def test_each_cell_lists_the_people_it_counted(customers, marketer_client):
    grid = selectors.grid()
    for (r, f), n in grid.customers.items():
        page = marketer_client.get(f"/insights/rfm/people/?r={r}&f={f}")
        assert page.status_code == 200
        listed = list(page.context["profiles"])
        assert page.context["total"] == n == len(listed)
        for profile in listed:
            assert (profile.computed["recency_score"], profile.computed["frequency_score"]) == (
                r,
                f,
            )


def test_saving_a_cell_makes_a_static_segment_of_its_people(customers, marketer_client):
    (r, f), n = max(selectors.grid().customers.items(), key=lambda item: item[1])
    response = marketer_client.post(
        f"/insights/rfm/people/?r={r}&f={f}", {"r": r, "f": f, "name": "Best cell"}
    )
    segment = Segment.objects.get(name="Best cell")
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.pk}/"
    assert segment.kind == Segment.Kind.STATIC and segment.member_count == n
    ids = selectors.profile_ids(selectors.Question(r=r, f=f), limit=100)
    assert sorted(segment.memberships.values_list("profile_id", flat=True)) == ids


def test_the_page_draws_both_heatmaps_with_clickable_cells(customers, marketer_client):
    page = marketer_client.get("/insights/rfm/")
    assert page.status_code == 200
    chart = page.context["customers_chart"]
    assert chart["clickable"] and chart["data"][0]["type"] == "heatmap"
    # R5 on top, F1 on the left: the top-left cell is the recent one-time buyers.
    top_left = chart["data"][0]["customdata"][0][0]
    assert top_left == "/insights/rfm/people/?r=5&f=1"
    assert chart["data"][0]["z"][0][0] == selectors.grid().customers[(5, 1)]
    revenue = page.context["revenue_chart"]["data"][0]["z"]
    assert sum(map(sum, revenue)) == pytest.approx(
        sum(v for orders in ORDERS.values() for _, v in orders)
    )
    text = page.content.decode()
    assert 'data-chart="rfm-customers-chart"' in text and "/insights/rfm/people/?r=" in text


def test_the_csv_has_a_row_per_cell(customers, marketer_client):
    response = marketer_client.get("/insights/rfm/?format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["recency", "frequency", "segment", "customers", "revenue"]
    assert len(rows) == 26
    counted = {(int(r), int(f)): int(n) for r, f, _, n, _ in rows[1:]}
    assert counted == selectors.grid().customers


def test_a_viewer_sees_the_numbers_but_not_the_people(customers, client, make_user):
    client.force_login(make_user("Viewer"))
    page = client.get("/insights/rfm/")
    assert page.status_code == 200
    assert "/insights/rfm/people/" not in page.content.decode()
    assert not page.context["customers_chart"]["clickable"]
    assert client.get("/insights/rfm/people/?r=5&f=1").status_code == 403
    assert client.get("/api/v1/insights/rfm/people/?r=5&f=1").status_code == 403
    assert client.post("/insights/rfm/recompute/").status_code == 403
    assert client.post("/api/v1/insights/rfm/recompute/").status_code == 403
    body = client.get("/api/v1/insights/rfm/").json()
    assert body["customers"] == len(ORDERS)


def test_an_account_manager_lists_but_saves_no_segment(customers, client, make_user):
    client.force_login(make_user("Account manager"))
    assert client.get("/insights/rfm/people/?segment=Champions").status_code == 200
    assert client.post("/insights/rfm/people/", {"segment": "Champions"}).status_code == 403
    assert not Segment.objects.exists()


def test_a_marketer_recomputes_the_scores_on_demand(
    marketer_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        response = marketer_client.post("/insights/rfm/recompute/")
    assert response.status_code == 302 and response["Location"] == "/insights/rfm/"
    assert QueuedTask.objects.filter(task="profiles.tasks.recompute_scores").count() == 1
    with django_capture_on_commit_callbacks():
        answer = marketer_client.post("/api/v1/insights/rfm/recompute/")
    assert answer.status_code == 202 and answer.json()["queued"] is True
    assert QueuedTask.objects.filter(task="profiles.tasks.recompute_scores").count() == 2


def test_the_api_states_as_of_and_the_same_numbers(customers, marketer_client):
    body = marketer_client.get("/api/v1/insights/rfm/").json()
    assert body["as_of"] is not None
    assert body["revenue_trait"] == "order_revenue"
    grid = selectors.grid()
    assert {(c["recency"], c["frequency"]): c["customers"] for c in body["cells"]} == (
        grid.customers
    )
    assert {c["segment"] for c in body["cells"]} == set(scores.SEGMENT_ORDER)
    people = marketer_client.get("/api/v1/insights/rfm/people/?segment=Champions&limit=5").json()
    assert people["count"] == dict((s, n) for s, n, _ in grid.segments())["Champions"]
    assert len(people["profiles"]) == min(5, people["count"])


@pytest.mark.parametrize(
    "query, field",
    [
        ("", "__all__"),
        ("r=5", "__all__"),
        ("r=6&f=1", "r"),
        ("r=1&f=x'; DROP TABLE profiles_profile; --", "f"),
        ("segment=%3Cb%3Ex%3C/b%3E", "segment"),
        ("r=1&f=1&segment=Champions", "__all__"),
        ("segment=Champions&limit=0", "limit"),
    ],
)
def test_bad_questions_get_a_400_naming_the_field(marketer_client, query, field):
    response = marketer_client.get(f"/api/v1/insights/rfm/people/?{query}")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert field in fields or (field == "__all__" and "non_field_errors" in fields), fields
    page = marketer_client.get(f"/insights/rfm/people/?{query}")
    assert page.status_code in (400, 200) and "<b>x</b>" not in page.content.decode()


def test_the_empty_grid_says_what_to_do(marketer_client):
    page = marketer_client.get("/insights/rfm/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "No customer has RFM scores yet" in text and "Order Completed" in text
    body = marketer_client.get("/api/v1/insights/rfm/").json()
    assert body["customers"] == 0 and len(body["cells"]) == 25


def test_the_schema_documents_the_rfm_endpoints(marketer_client):
    schema = marketer_client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert {"/api/v1/insights/rfm/", "/api/v1/insights/rfm/people/"} <= set(paths)
    assert "post" in paths["/api/v1/insights/rfm/recompute/"]
    grid = schema["components"]["schemas"]["RfmGrid"]
    assert "as_of" in grid["properties"]
