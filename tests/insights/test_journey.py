"""The journey view's numbers equal a from-scratch count over the stage history, and its
page and API answer bad periods with a message."""

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from insights.journey import selectors
from insights.periods import Period
from profiles.models import StageChange
from profiles.services import merge_profiles
from tests.profiles.conftest import T0, message, profile_of

from .conftest import DAY

pytestmark = pytest.mark.django_db


def period(first: date, last: date, granularity: str) -> Period:
    return Period(first, last, granularity, timezone.get_current_timezone())


def stage_at(instant) -> dict[int, str]:
    """From scratch: each profile's stage is its last change before the instant."""
    found = {}
    for change in StageChange.objects.filter(changed_at__lt=instant).order_by("changed_at", "id"):
        found[change.profile_id] = change.to_stage
    return found


def local_midnight(day: date):
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_people_per_stage_equal_a_count_of_each_profiles_last_change(journeys, granularity):
    asked = period(date(2026, 10, 28), date(2026, 11, 20), granularity)
    found = selectors.journey(asked)
    for i, first in enumerate(found.buckets):
        end = min(
            local_midnight(selectors.bucket_end(first, granularity) + timedelta(1)), asked.end
        )
        expected = Counter(stage_at(end).values())
        assert {s: found.people[s][i] for s in selectors.STAGES} == {
            s: expected[s] for s in selectors.STAGES
        }, first


def test_flows_are_the_moves_between_stages_in_the_period(journeys):
    asked = period(date(2026, 11, 1), date(2026, 11, 10), "day")
    moves = StageChange.objects.filter(changed_at__gte=asked.start, changed_at__lt=asked.end)
    expected = Counter((c.from_stage, c.to_stage) for c in moves)
    assert Counter({(a, b): n for a, b, n in selectors.journey(asked).flows}) == expected
    assert expected[("", "orientation")] == 2  # u1 and u4
    assert expected[("orientation", "acquisition")] == 1  # early


def test_moving_on_is_the_share_of_a_stage_that_went_further_in_each_bucket(journeys):
    found = selectors.journey(period(date(2026, 11, 1), date(2026, 11, 21), "week"))
    mondays = [date(2026, 10, 26) + timedelta(weeks=n) for n in range(4)]
    assert found.buckets == mondays
    # The week of 2 Nov began with early and u1 in orientation (u4 came on 4 Nov): both
    # moved on (u1 on 3 Nov, early on 6 Nov); early alone in the first, u4 in the third.
    assert found.conversion["orientation"][:3] == [0.0, 1.0, 0.0]
    assert found.entered["acquisition"] == [0, 1, 0, 1]  # early on 6 Nov, u2 on 17 Nov


def test_time_in_a_stage_counts_from_the_move_into_it_for_those_who_left_it(journeys):
    found = selectors.journey(period(date(2026, 11, 1), date(2026, 11, 30), "week"))
    # Left orientation: u1 after 2 days, early after 15; left consideration: u1 after 7,
    # u2 after 15.
    # The rollup keeps these times to within 5 %: the median is the smaller, 2 days.
    assert found.time_in_stage["orientation"]["left"] == 2
    assert found.time_in_stage["orientation"]["median_s"] == pytest.approx(2 * 86400, rel=0.05)
    assert found.time_in_stage["consideration"]["p75_s"] == pytest.approx(15 * 86400, rel=0.05)


def test_a_merged_profile_counts_once_in_its_survivor(web, crm, send, make_user):
    send(web, message("page", anonymousId="a1", properties={"path": "/"}))
    send(crm, message(userId="c1", event="Order Completed", minutes=DAY))
    merge_profiles(
        survivor_id=profile_of("crm_id", "c1").pk,
        merged_id=profile_of("anonymous_id", "a1").pk,
        actor=make_user("Admin"),
    )
    found = selectors.journey(period(date(2026, 11, 1), date(2026, 11, 3), "day"))
    assert [found.people[s][-1] for s in selectors.STAGES] == [0, 0, 0, 1, 0]
    # The survivor's journey, replayed from both profiles' events; the merged one's is gone.
    assert found.flows == [("", "orientation", 1), ("orientation", "retention", 1)]


def test_the_page_draws_the_four_charts_with_tables(journeys, marketer_client):
    response = marketer_client.get("/insights/journey/?start=2026-11-01&end=2026-11-21")
    assert response.status_code == 200
    html = response.content.decode()
    for chart in ("people-chart", "flow-chart", "conversion-chart", "time-chart"):
        assert f'data-chart="{chart}"' in html and f'id="{chart}"' in html
    assert '<th scope="col">Moves</th>' in html


def test_htmx_gets_only_the_report(journeys, marketer_client):
    response = marketer_client.get(
        "/insights/journey/?start=2026-11-01&end=2026-11-21", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="report">') and "<html" not in html


@pytest.mark.parametrize("report", ["journey", "retention", "lifecycle", "paths", "attribution"])
def test_htmx_sees_the_period_error_in_place(marketer_client, report):
    """htmx 2 swaps only 2xx answers: a refused period must still reach the page."""
    response = marketer_client.get(
        f"/insights/{report}/?start=2026-11-10&end=2026-11-01", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The end is before the start." in html and "<html" not in html


def test_an_empty_installation_is_told_what_to_do(marketer_client):
    html = marketer_client.get("/insights/journey/").content.decode()
    assert "No one has a journey stage in this period yet" in html


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("start=2026-11-10&end=2026-11-01", "end", "The end is before the start."),
        ("start=2020-01-01&end=2026-11-01", "end", "at most 732 days"),
        ("start=2025-01-01&end=2026-11-01&granularity=day", "granularity", "At most 400 points"),
        ("start=yesterday", "start", "Enter a valid date."),
        ("granularity=hour", "granularity", "Select a valid choice."),
        ("start=<script>alert(1)</script>", "start", "Enter a valid date."),
    ],
)
def test_a_bad_period_is_a_400_naming_the_field(marketer_client, query, field, message):
    page = marketer_client.get(f"/insights/journey/?{query}")
    assert page.status_code == 400 and message in page.content.decode()
    assert "<script>alert(1)</script>" not in page.content.decode()
    api = marketer_client.get(f"/api/v1/insights/journey/?{query}")
    assert api.status_code == 400 and message in str(api.json()["error"]) + str(api.json())
    assert field in str(api.json())


def test_the_api_gives_the_pages_numbers_and_when_they_are_current_to(journeys, marketer_client):
    before = timezone.now()
    body = marketer_client.get(
        "/api/v1/insights/journey/?start=2026-11-01&end=2026-11-21&granularity=week"
    ).json()
    found = selectors.journey(period(date(2026, 11, 1), date(2026, 11, 21), "week"))
    assert body["people"] == found.people
    assert body["buckets"] == [d.isoformat() for d in found.buckets]
    assert {(f["from"], f["to"], f["people"]) for f in body["flows"]} == set(found.flows)
    assert datetime.fromisoformat(body["as_of"].replace("Z", "+00:00")) >= before
    assert T0.date().isoformat() == body["start"]


def test_a_viewer_reads_the_journey_numbers(client, make_user):
    client.force_login(make_user("Viewer"))
    assert client.get("/api/v1/insights/journey/").status_code == 200
    assert client.get("/insights/journey/").status_code == 200


def test_the_people_per_stage_download_as_csv(journeys, marketer_client):
    response = marketer_client.get(
        "/insights/journey/?start=2026-11-01&end=2026-11-21&granularity=week&format=csv"
    )
    lines = response.content.decode().splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert lines[0] == "from,to,orientation,consideration,acquisition,retention,lapsed"
    assert len(lines) == 1 + 4  # a line per week
