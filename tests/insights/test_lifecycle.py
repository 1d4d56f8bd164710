"""Lifecycle bars equal a from-scratch classification of each person's active weeks (new,
returning, resurrecting, dormant), for any event and for a chosen one; the page and the
API draw them for every role that reads dashboards; bad questions get a message. Each
number lists exactly the people it counted (for those who may view profiles), who save as
a static segment in one click."""

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

import pytest
from django.db.models import Min
from django.utils import timezone

from insights import people
from insights.lifecycle.people import LifecyclePeopleForm
from insights.lifecycle.selectors import KINDS, lifecycle
from insights.periods import Period, bucket_of
from profiles.models import ProfileEvent
from profiles.services import merge_profiles
from segments.models import MembershipChange, Segment
from tests.profiles.conftest import message, profile_of

from .conftest import DAY

pytestmark = pytest.mark.django_db
# Weeks from Monday: 26 Oct (it holds T0, Sunday 1 Nov) is week 0, 2 Nov week 1 ...
WEEKS = Period(date(2026, 11, 2), date(2026, 11, 22), "week", timezone.get_current_timezone())
ACTIVE_WEEKS = {
    "fresh": [2],  # new in week 2, dormant in 3
    "loyal": [0, 1, 2, 3],  # returning in 1, 2 and 3
    "back": [-3, 2],  # resurrecting in 2 (active long before), dormant in 3
    "gappy": [1, 3],  # new in 1, dormant in 2, resurrecting in 3
    "gone": [0],  # dormant in 1
}
HOSTILE = ["x'); DROP TABLE profiles_profile; --", "%(x)s", "' OR 1=1 --", "ünïcødé ☃ ‮", "{}"]


def in_week(k: int) -> int:
    """Minutes from T0 to the Thursday noon of week k."""
    return (7 * k - 3) * DAY


@pytest.fixture
def regulars(web, send):
    for user, weeks in ACTIVE_WEEKS.items():
        send(web, *(message(userId=user, minutes=in_week(k)) for k in weeks))
    # Orders: "gappy" orders in weeks 1 and 3, "loyal" in week 3 only.
    send(
        web,
        message(userId="gappy", event="Order Completed", minutes=in_week(1) + 60),
        message(userId="gappy", event="Order Completed", minutes=in_week(3) + 60),
        message(userId="loyal", event="Order Completed", minutes=in_week(3) + 60),
    )


def from_scratch(period: Period, event: str = "") -> dict[str, list[int]]:
    """Each profile's active buckets from its events, classified by the definitions."""
    weeks: dict[int, set] = {}
    events = ProfileEvent.objects.filter(name=event) if event else ProfileEvent.objects.all()
    for e in events:
        day = timezone.localtime(e.timestamp, period.zone).date()
        weeks.setdefault(e.profile_id, set()).add(bucket_of(day, period.granularity))
    found = {kind: [] for kind in KINDS}
    for bucket in period.buckets():
        before = bucket_of(bucket - timedelta(days=1), period.granularity)
        counts = dict.fromkeys(KINDS, 0)
        for active in weeks.values():
            if bucket in active:
                kind = "returning" if before in active else "resurrecting"
                counts["new" if min(active) == bucket else kind] += 1
            elif before in active:
                counts["dormant"] += 1
        for kind in KINDS:
            found[kind].append(counts[kind])
    return found


def test_each_week_counts_new_returning_resurrecting_and_dormant_people(regulars):
    found = lifecycle(WEEKS)
    assert found.buckets == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    assert found.counts == from_scratch(WEEKS)
    assert found.counts["new"] == [1, 1, 0]  # gappy, then fresh
    assert found.counts["returning"] == [1, 1, 1]  # loyal
    assert found.counts["resurrecting"] == [0, 1, 1]  # back (seen in October), gappy
    assert found.counts["dormant"] == [1, 1, 2]  # gone; gappy; fresh and back


def test_active_can_mean_one_event(regulars):
    found = lifecycle(WEEKS, event="Order Completed")
    assert found.counts == from_scratch(WEEKS, "Order Completed")
    assert found.counts["new"] == [1, 0, 1]  # gappy, then loyal's first order
    assert found.counts["resurrecting"] == [0, 0, 1] and found.counts["dormant"] == [0, 1, 0]
    assert found.rows()[1] == (date(2026, 11, 9), 0, 0, 0, 1, 0)


@pytest.mark.parametrize("granularity", ["day", "month"])
def test_days_and_months_follow_the_same_definitions(regulars, granularity):
    period = Period(date(2026, 10, 20), date(2026, 11, 30), granularity, WEEKS.zone)
    found = lifecycle(period)
    whole = datetime.combine(found.buckets[0], time.min, tzinfo=period.zone)  # whole buckets
    active = [sum(found.counts[k][i] for k in KINDS[:3]) for i in range(len(found.buckets))]
    assert sum(active) == len(
        {
            (e.profile_id, timezone.localtime(e.timestamp).date())
            if granularity == "day"
            else (e.profile_id, timezone.localtime(e.timestamp).date().replace(day=1))
            for e in ProfileEvent.objects.filter(timestamp__gte=whole)
        }
    )
    # Every person active in a bucket is new exactly once, in their first bucket ever.
    firsts = ProfileEvent.objects.values("profile").annotate(first=Min("timestamp"))
    assert sum(found.counts["new"]) == sum(1 for row in firsts if row["first"] >= whole)


@pytest.mark.parametrize(
    "first, last, granularity",
    [
        (date(2026, 9, 1), date(2026, 11, 30), "day"),  # 91 buckets: pairs, not bit masks
        (date(2026, 10, 26), date(2026, 11, 20), "day"),
        (date(2026, 9, 1), date(2026, 12, 1), "month"),
    ],
)
@pytest.mark.parametrize("event", ["", "Order Completed"])
def test_every_granularity_equals_a_count_from_scratch(regulars, first, last, granularity, event):
    period = Period(first, last, granularity, WEEKS.zone)
    assert lifecycle(period, event=event).counts == from_scratch(period, event)


def test_buckets_yet_to_come_are_empty(regulars):
    today = timezone.localdate()
    ahead = Period(today - timedelta(days=3), today + timedelta(days=3), "day", WEEKS.zone)
    found = lifecycle(ahead)
    assert all(found.counts[kind][-3:] == [0, 0, 0] for kind in KINDS)


def test_a_merged_profiles_earlier_activity_makes_its_survivor_no_new_one(
    web, crm, send, make_user
):
    """An anonymous visitor active in October turns out (a merge) to be a customer first
    seen in the CRM in week 2: in week 2 they are back, not new."""
    send(web, message("page", anonymousId="a1", minutes=in_week(-3), properties={"path": "/"}))
    send(crm, message(userId="c1", minutes=in_week(2)))
    merge_profiles(
        survivor_id=profile_of("crm_id", "c1").pk,
        merged_id=profile_of("anonymous_id", "a1").pk,
        actor=make_user("Admin"),
    )
    found = lifecycle(WEEKS)
    assert found.counts == from_scratch(WEEKS)
    assert found.counts["new"] == [0, 0, 0] and found.counts["resurrecting"] == [0, 1, 0]


def test_nothing_active_is_an_empty_answer(db):
    found = lifecycle(WEEKS)
    assert found.empty and found.counts["new"] == [0, 0, 0]


def test_the_page_draws_the_bars_and_their_table(regulars, client_as):
    query = "start=2026-11-02&end=2026-11-22&granularity=week"
    page = client_as("Viewer").get(f"/insights/lifecycle/?{query}").content.decode()
    assert 'data-chart="lifecycle-chart"' in page and '"barmode": "relative"' in page
    assert '<td>2026-11-16</td><td class="num">0</td>' in page  # no one new that week
    assert 'data-testid="time-zone">UTC<' in page


def test_dormant_people_are_drawn_below_zero(regulars, client_as):
    response = client_as("Marketer").get("/insights/lifecycle/?start=2026-11-02&end=2026-11-22")
    dormant = next(bar for bar in response.context["chart"]["data"] if bar["name"] == "Dormant")
    assert dormant["y"] == [-1, -1, -2] and dormant["customdata"] == [1, 1, 2]


def test_an_empty_period_says_what_to_do(db, client_as):
    page = client_as("Viewer").get("/insights/lifecycle/?start=2026-11-02&end=2026-11-22")
    assert "No one was active in this period" in page.content.decode()


@pytest.mark.parametrize("role", ["Viewer", "Account manager", "Marketer", "Admin"])
def test_the_api_answers_every_role_that_reads_dashboards(regulars, client_as, role):
    query = "start=2026-11-02&end=2026-11-22&event=Order+Completed"
    body = client_as(role).get(f"/api/v1/insights/lifecycle/?{query}").json()
    assert body["buckets"] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert body["new"] == [1, 0, 1] and body["dormant"] == [0, 1, 0]
    assert body["as_of"] and body["time_zone"] == "UTC" and body["event"] == "Order Completed"


def test_the_bars_download_as_csv(regulars, client_as):
    query = "start=2026-11-02&end=2026-11-22&format=csv"
    lines = client_as("Viewer").get(f"/insights/lifecycle/?{query}").content.decode().splitlines()
    assert lines[0] == "bucket,new,returning,resurrecting,dormant,active"
    assert lines[1:] == ["2026-11-02,1,1,0,1,2", "2026-11-09,1,1,1,1,3", "2026-11-16,0,1,1,2,2"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("start=2026-11-22&end=2026-11-02", "end"),
        ("start=2020-01-01&end=2026-11-02", "end"),
        ("start=2026-01-01&end=2026-11-02&granularity=hour", "granularity"),
        ("start=yesterday", "start"),
        (f"event={'x' * 201}", "event"),
        ("event=%00", "event"),
    ],
)
def test_a_bad_question_is_a_400_naming_the_field(client_as, query, field):
    client = client_as("Viewer")
    assert client.get(f"/insights/lifecycle/?{query}").status_code == 400
    api = client.get(f"/api/v1/insights/lifecycle/?{query}")
    assert api.status_code == 400 and field in api.json()["error"]["fields"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_event_names_are_only_data(regulars, client_as, text):
    stored = ProfileEvent.objects.count()
    response = client_as("Viewer").get(
        "/api/v1/insights/lifecycle/", {"event": text, "start": "2026-11-02", "end": "2026-11-22"}
    )
    assert response.status_code == 200 and response.json()["new"] == [0, 0, 0]
    assert ProfileEvent.objects.count() == stored


def test_anonymous_visitors_may_not_read_the_bars(client):
    assert client.get("/api/v1/insights/lifecycle/").status_code in (401, 403)
    assert client.get("/insights/lifecycle/").status_code == 302


def test_a_query_past_its_time_limit_asks_for_less(regulars, client_as, monkeypatch):
    """PostgreSQL's statement timeout cancels a slow count: the page says to choose a
    shorter period, the API answers a 400 naming the period."""
    from insights.lifecycle import selectors

    monkeypatch.setattr(selectors, "TIME_LIMIT_MS", 50)
    monkeypatch.setattr(selectors, "LIFECYCLE", "SELECT CURRENT_DATE, 'new', 1 FROM pg_sleep(2)")
    client = client_as("Viewer")
    page = client.get("/insights/lifecycle/?start=2026-11-02&end=2026-11-22")
    assert "This period takes too long to count" in page.content.decode()
    api = client.get("/api/v1/insights/lifecycle/?start=2026-11-02&end=2026-11-22")
    assert api.status_code == 400 and "end" in api.json()["error"]["fields"]


# The people behind each number: listed, saved as a static segment, and through the API.
PEOPLE_QUERY = {"start": "2026-11-02", "end": "2026-11-22", "granularity": "week"}


def people_question(**fields):
    form = LifecyclePeopleForm({**PEOPLE_QUERY, **fields})
    assert form.is_valid(), form.errors
    return form.people_question()


def names(ids) -> set[str]:
    """The user ids of these profiles."""
    ids = set(ids)
    return {user for user in ACTIVE_WEEKS if profile_of("user_id", user).pk in ids}


@pytest.mark.parametrize("event", ["", "Order Completed"])
def test_each_number_lists_exactly_the_people_it_counts(regulars, event):
    found = lifecycle(WEEKS, event=event)
    listed_any = 0
    for kind in KINDS:
        for i, bucket in enumerate(found.buckets):
            question = people_question(kind=kind, bucket=bucket, event=event)
            total, ids = people.listed(question, limit=100, time_limit_ms=5000)
            assert total == len(ids) == found.counts[kind][i], (kind, bucket)
            listed_any += total
    assert listed_any == sum(sum(row) for row in found.counts.values()) > 0


def test_the_people_are_the_ones_the_definitions_name(regulars):
    week = {"bucket": date(2026, 11, 16)}
    assert names(people.profile_ids(people_question(kind="dormant", **week), limit=9)) == {
        "fresh",
        "back",
    }
    resurrected = people_question(kind="resurrecting", **week)
    assert names(people.profile_ids(resurrected, limit=9)) == {"gappy"}
    assert resurrected.describe() == "Resurrecting, week of 2026-11-16 – 2026-11-22"


def test_the_table_links_each_number_to_its_people_for_those_who_may_view_them(regulars, client_as):
    query = urlencode(PEOPLE_QUERY)
    page = client_as("Account manager").get(f"/insights/lifecycle/?{query}").content.decode()
    link = "/insights/lifecycle/people/?" + urlencode(
        {**PEOPLE_QUERY, "event": "", "kind": "dormant", "bucket": "2026-11-16"}
    )
    assert f'<a href="{link.replace("&", "&amp;")}"' in page
    viewer = client_as("Viewer")
    assert (
        "/insights/lifecycle/people/"
        not in viewer.get(f"/insights/lifecycle/?{query}").content.decode()
    )
    assert viewer.get(link).status_code == 403


def test_the_people_page_lists_them_and_a_marketer_saves_them_as_a_segment(regulars, client_as):
    fields = {**PEOPLE_QUERY, "kind": "dormant", "bucket": "2026-11-16"}
    client = client_as("Marketer")
    page = client.get("/insights/lifecycle/people/", fields)
    assert page.status_code == 200 and page.context["total"] == 2
    assert names(p.pk for p in page.context["profiles"]) == {"fresh", "back"}
    assert "Went dormant, week of 2026-11-16 – 2026-11-22" in page.content.decode()
    response = client.post("/insights/lifecycle/people/", {**fields, "name": "Lapsed in week 3"})
    segment = Segment.objects.get(name="Lapsed in week 3")
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.pk}/"
    assert segment.kind == Segment.Kind.STATIC and segment.member_count == 2
    assert names(segment.memberships.values_list("profile_id", flat=True)) == {"fresh", "back"}
    assert (
        MembershipChange.objects.filter(segment=segment).first().reason.startswith("Went dormant")
    )


def test_an_account_manager_lists_the_people_but_saves_no_segment(regulars, client_as):
    fields = {**PEOPLE_QUERY, "kind": "new", "bucket": "2026-11-09"}
    client = client_as("Account manager")
    assert client.get("/insights/lifecycle/people/", fields).status_code == 200
    assert client.post("/insights/lifecycle/people/", fields).status_code == 403
    assert not Segment.objects.exists()


def test_the_api_lists_the_people_behind_a_number(regulars, client_as):
    query = urlencode(
        {**PEOPLE_QUERY, "kind": "new", "bucket": "2026-11-16", "event": "Order Completed"}
    )
    body = client_as("Account manager").get(f"/api/v1/insights/lifecycle/people/?{query}").json()
    assert body["count"] == 1 and names(body["profiles"]) == {"loyal"} and body["as_of"]
    assert body["describe"] == "New (doing “Order Completed”), week of 2026-11-16 – 2026-11-22"


@pytest.mark.parametrize(
    "role, fields, status",
    [
        ("Viewer", {"kind": "new", "bucket": "2026-11-09"}, 403),
        ("Account manager", {"kind": "new", "bucket": "2026-11-10"}, 400),  # not a bucket
        ("Account manager", {"kind": "gone", "bucket": "2026-11-09"}, 400),
        ("Account manager", {"kind": "new"}, 400),
        ("Account manager", {"kind": "new", "bucket": "2026-11-09", "limit": "0"}, 400),
        ("Account manager", {"kind": "new", "bucket": "2026-11-09", "limit": "1001"}, 400),
        ("Account manager", {"kind": "new", "bucket": "2026-11-09", "limit": "1000"}, 200),
    ],
)
def test_the_people_api_checks_the_role_and_the_question(regulars, client_as, role, fields, status):
    response = client_as(role).get("/api/v1/insights/lifecycle/people/", {**PEOPLE_QUERY, **fields})
    assert response.status_code == status
    if status == 400:
        assert set(response.json()["error"]["fields"]) <= {"limit", "bucket", "kind"}


def test_a_bucket_yet_to_come_lists_nobody(regulars):
    today = timezone.localdate()
    ahead = Period(today - timedelta(days=3), today + timedelta(days=3), "day", WEEKS.zone)
    form = LifecyclePeopleForm(
        {
            "start": ahead.first_day,
            "end": ahead.last_day,
            "granularity": "day",
            "kind": "dormant",
            "bucket": today + timedelta(days=2),
        }
    )
    assert form.is_valid(), form.errors
    assert people.count(form.people_question()) == 0
