"""The cohort retention grid equals a count from scratch, by first seen and by first
order, and bad questions get a message."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from insights.periods import Period
from insights.retention.selectors import retention
from profiles.models import Profile, ProfileEvent
from tests.profiles.conftest import message

from .conftest import DAY

pytestmark = pytest.mark.django_db
WEEKS = Period(date(2026, 10, 26), date(2026, 11, 22), "week", timezone.get_current_timezone())


@pytest.fixture
def buyers(web, send):
    """Six people first seen over three weeks; some order again in later weeks."""
    for n in range(6):
        start = (n // 2) * 7 * DAY  # two a week, from Sunday 1 Nov
        send(web, message("page", userId=f"b{n}", minutes=start, properties={"path": "/"}))
        for week in range(n % 3):
            send(
                web,
                message(
                    userId=f"b{n}", event="Order Completed", minutes=start + (week + 1) * 7 * DAY
                ),
            )


def from_scratch(cohort_of) -> dict:
    """(cohort week, weeks later) -> people, counting each profile's orders by week."""
    monday = lambda t: t.date() - timedelta(days=t.date().weekday())  # noqa: E731
    found = {}
    for profile in Profile.objects.filter(merged_into=None):
        cohort = cohort_of(profile)
        if cohort is None or not WEEKS.first_day <= cohort <= WEEKS.last_day:
            continue
        weeks = {
            (monday(e.timestamp) - cohort).days // 7
            for e in ProfileEvent.objects.filter(profile=profile, name="Order Completed")
        }
        for k in weeks:
            if k >= 0:
                found[(cohort, k)] = found.get((cohort, k), 0) + 1
    return found


def as_dict(found) -> dict:
    return {
        (cohort, k): n
        for cohort, row in zip(found.cohorts, found.returned, strict=True)
        for k, n in enumerate(row)
        if n
    }


def test_cohorts_by_first_seen_count_who_ordered_in_each_later_week(buyers):
    found = retention(
        WEEKS, cohort_by="first_seen", cohort_event="", returning_event="Order Completed"
    )
    monday = lambda t: t.date() - timedelta(days=t.date().weekday())  # noqa: E731
    assert as_dict(found) == from_scratch(lambda p: monday(p.first_seen_at))
    assert found.sizes == [2, 2, 2, 0]  # the week of 26 Oct holds Sunday 1 Nov


def test_cohorts_by_first_order_start_at_the_order(buyers):
    found = retention(
        WEEKS,
        cohort_by="first_order",
        cohort_event="Order Completed",
        returning_event="Order Completed",
    )

    def first_order(profile):
        first = (
            ProfileEvent.objects.filter(profile=profile, name="Order Completed")
            .order_by("timestamp")
            .first()
        )
        return first and first.timestamp.date() - timedelta(days=first.timestamp.date().weekday())

    assert as_dict(found) == from_scratch(first_order)
    assert all(row[0] == size for row, size in zip(found.returned, found.sizes, strict=True))


def test_periods_not_over_yet_are_left_empty(buyers):
    found = retention(
        WEEKS, cohort_by="first_seen", cohort_event="", returning_event="Order Completed"
    )
    assert all(n is not None for row in found.returned for n in row)  # November is long over
    recent = Period(
        timezone.localdate() - timedelta(days=20),
        timezone.localdate(),
        "week",
        timezone.get_current_timezone(),
    )
    now = retention(
        recent, cohort_by="first_seen", cohort_event="", returning_event="Order Completed"
    )
    assert now.returned[-1][1:] == [None] * (len(now.cohorts) - 1)


def test_the_page_and_the_api_draw_the_grid(buyers, marketer_client):
    query = "start=2026-10-26&end=2026-11-22&returning_event=Order+Completed"
    page = marketer_client.get(f"/insights/retention/?{query}").content.decode()
    assert 'data-chart="retention-chart"' in page and "Came back to do" in page
    body = marketer_client.get(f"/api/v1/insights/retention/?{query}").json()
    assert body["sizes"] == [2, 2, 2, 0] and len(body["returned"]) == 4


@pytest.mark.parametrize(
    "query, field",
    [
        ("start=2026-10-26", "returning_event"),
        ("returning_event=x&cohort_by=first_event", "cohort_by"),
        (f"returning_event=x&cohort_by=first_order&cohort_event={'x' * 201}", "cohort_event"),
        ("returning_event=x&start=2026-11-22&end=2026-11-01", "end"),
        ("returning_event=%00", "returning_event"),
        ("returning_event=x&start=2025-01-01&end=2026-11-01", "granularity"),
        ("returning_event=x&cohort_by=last_seen", "cohort_by"),
    ],
)
def test_a_bad_grid_question_is_a_400_naming_the_field(marketer_client, query, field):
    assert marketer_client.get(f"/insights/retention/?{query}").status_code == 400
    api = marketer_client.get(f"/api/v1/insights/retention/?{query}")
    assert api.status_code == 400 and field in api.json()["error"]["fields"]


def test_the_grid_downloads_as_csv(buyers, marketer_client):
    query = "start=2026-10-26&end=2026-11-22&returning_event=Order+Completed&format=csv"
    lines = marketer_client.get(f"/insights/retention/?{query}").content.decode().splitlines()
    assert lines[0].startswith("cohort,people,+0 people") and len(lines) == 1 + 4


def test_first_order_cohorts_by_default_start_at_the_first_order_completed(buyers, marketer_client):
    query = "start=2026-10-26&end=2026-11-22&returning_event=Order+Completed"
    by_order = marketer_client.get(
        f"/api/v1/insights/retention/?{query}&cohort_by=first_order"
    ).json()
    named = marketer_client.get(
        f"/api/v1/insights/retention/?{query}&cohort_by=first_order&cohort_event=Order+Completed"
    ).json()
    assert by_order["cohort_event"] == "Order Completed" and by_order == {
        **named,
        "as_of": by_order["as_of"],
    }
    # b1, b2, b4 and b5 order, a week after their first visit: in weeks 1, 2, 3 and 3.
    assert by_order["sizes"] == [0, 1, 1, 2]


def test_the_grid_shows_percentages_and_counts(buyers, marketer_client):
    query = "start=2026-10-26&end=2026-11-22&returning_event=Order+Completed"
    body = marketer_client.get(f"/api/v1/insights/retention/?{query}").json()
    for size, counts, shares in zip(body["sizes"], body["returned"], body["shares"], strict=True):
        for n, share in zip(counts, shares, strict=True):
            assert share == (round(100 * n / size, 1) if size and n is not None else None)
    assert body["shares"][0][1] == 50.0 and body["returned"][0][1] == 1  # b1 of b0, b1
    response = marketer_client.get(f"/insights/retention/?{query}")
    (heatmap,) = response.context["chart"]["data"]
    assert heatmap["z"] == body["shares"] and heatmap["customdata"] == body["returned"]
    assert heatmap["text"][0][1] == "50.0%<br>1" and heatmap["texttemplate"] == "%{text}"
    assert '<td class="num">50.0% (1)</td>' in response.content.decode()
