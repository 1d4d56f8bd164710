"""Funnels: each step's people equal a count from scratch, in order or in any order,
with property filters and a window; saved funnels open as their URL; drop-offs save as a
segment; bad funnels get a message."""

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from insights.funnels.forms import FunnelForm
from insights.funnels.selectors import Breakdown, Step, dropped_off, funnel
from insights.models import Funnel
from insights.periods import Period
from profiles.models import Profile
from segments.models import Segment
from tests.profiles.conftest import T0, message, profile_of

from .conftest import DAY

pytestmark = pytest.mark.django_db
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "week", timezone.get_current_timezone())
VIEW, ADD, ORDER = "Product Viewed", "Product Added", "Order Completed"
SHOP = [Step(VIEW), Step(ADD), Step(ORDER)]
TENTS = {"property": "category", "op": "equals", "value": "Tents"}


@pytest.fixture
def shoppers(web, send):
    """Who did what (minutes after T0, 1 Nov): f1 the whole funnel; f2 stopped at the
    cart; f3 ordered before adding (any order only); f4 ordered after the 7-day window;
    f5 only viewed; f6 viewed a tent, the others shirts."""
    journeys = {
        "f1": [(VIEW, 0), (ADD, 30), (ORDER, 90)],
        "f2": [(VIEW, 0), (ADD, 60)],
        "f3": [(VIEW, 0), (ORDER, 10), (ADD, 20)],
        "f4": [(VIEW, 0), (ADD, 10), (ORDER, 8 * DAY)],
        "f5": [(VIEW, 0)],
        "f6": [(VIEW, 0), (ADD, 5), (ORDER, 15)],
    }
    for user, steps in journeys.items():
        category = "Tents" if user == "f6" else "Shirts"
        send(
            web,
            *[
                message(userId=user, event=event, minutes=at, properties={"category": category})
                for event, at in steps
            ],
        )


def test_an_ordered_funnel_counts_who_did_each_step_after_the_last_within_the_window(shoppers):
    found = funnel(NOVEMBER, SHOP, window_days=7, ordered=True)
    assert found.counts == [6, 5, 2]  # f1 and f6 ordered after adding, within 7 days
    assert found.conversion() == [None, 5 / 6, 2 / 5] and found.overall() == 2 / 6
    # From adding to ordering: f1 60 min, f6 10 min; median 35 min.
    assert found.median_s[2] == pytest.approx(35 * 60)


def test_any_order_counts_f3_who_ordered_before_adding(shoppers):
    found = funnel(NOVEMBER, SHOP, window_days=7, ordered=False)
    assert found.counts == [6, 5, 3]


def test_a_property_filter_narrows_its_step(shoppers):
    tents = [Step(VIEW, (TENTS,)), Step(ADD), Step(ORDER)]
    assert funnel(NOVEMBER, tents, window_days=7, ordered=True).counts == [1, 1, 1]


def test_filters_compare_as_the_segment_grammar_does(shoppers):
    """Equals ignores case (as in a segment); not_equals and "in" narrow the first step."""
    lower = [Step(VIEW, ({**TENTS, "value": "tents"},)), Step(ADD)]
    assert funnel(NOVEMBER, lower, window_days=7, ordered=True).counts == [1, 1]
    not_tents = [Step(VIEW, ({**TENTS, "op": "not_equals"},)), Step(ADD), Step(ORDER)]
    assert funnel(NOVEMBER, not_tents, window_days=7, ordered=True).counts == [5, 4, 1]
    either = {"property": "category", "op": "in", "values": ["Tents", "Hats"]}
    assert funnel(
        NOVEMBER, [Step(VIEW, (either,)), Step(ADD)], window_days=7, ordered=True
    ).counts == [1, 1]


def test_a_breakdown_by_property_counts_each_group_and_the_rest_as_other(shoppers):
    by = Breakdown("property", "category")
    found = funnel(NOVEMBER, SHOP, window_days=7, ordered=True, by=by)
    assert found.counts == [6, 5, 2]
    # Shirts: f1-f5 viewed, f1-f4 added, only f1 ordered in order; Tents: f6 all three.
    assert found.groups == {"Shirts": [5, 4, 1], "Tents": [1, 1, 1]}
    assert funnel(NOVEMBER, SHOP, window_days=7, ordered=True, by=by, top=1).groups == {
        "Shirts": [5, 4, 1],
        "(other)": [1, 1, 1],
    }


def test_a_breakdown_by_trait_or_source(shoppers, web):
    Profile.objects.filter(pk=profile_of("user_id", "f1").pk).update(traits={"plan": "pro"})
    by_trait = funnel(NOVEMBER, SHOP, window_days=7, ordered=True, by=Breakdown("trait", "plan"))
    assert by_trait.groups == {"(none)": [5, 4, 1], "pro": [1, 1, 1]}
    by_source = funnel(NOVEMBER, SHOP, window_days=7, ordered=True, by=Breakdown("source"))
    assert by_source.groups == {web.name: [6, 5, 2]}


def test_many_distinct_values_give_the_top_groups_and_other(web, send):
    send(
        web,
        *[
            message(userId=f"d{n}", event=VIEW, minutes=n, properties={"sku": f"sku-{n}"})
            for n in range(12)
        ],
    )
    found = funnel(NOVEMBER, SHOP[:2], window_days=7, ordered=True, by=Breakdown("property", "sku"))
    assert len(found.groups) == 9 and found.groups["(other)"] == [4, 0]
    assert sum(counts[0] for counts in found.groups.values()) == 12


def test_conversion_over_time_is_per_bucket_of_the_first_step(shoppers, web, send):
    later = 9 * DAY  # 10 November: the week of 9 November
    send(
        web,
        message(userId="g1", event=VIEW, minutes=later),
        message(userId="g1", event=ADD, minutes=later + 5),
    )
    found = funnel(NOVEMBER, SHOP, window_days=7, ordered=True)
    assert found.counts == [7, 6, 2]
    assert found.over_time == {date(2026, 10, 26): [6, 5, 2], date(2026, 11, 9): [1, 1, 0]}
    by_day = Period(NOVEMBER.first_day, NOVEMBER.last_day, "day", NOVEMBER.zone)
    assert list(funnel(by_day, SHOP, window_days=7, ordered=True).over_time) == [
        date(2026, 11, 1),
        date(2026, 11, 10),
    ]


def test_the_people_who_dropped_off_at_a_step_are_those_counted_out(shoppers):
    dropped = dropped_off(NOVEMBER, SHOP, window_days=7, ordered=True, at=1)
    assert dropped == sorted(profile_of("user_id", u).pk for u in ("f2", "f3", "f4"))


SHOP_FIELDS = {
    "start": "2026-11-01",
    "end": "2026-11-30",
    "event_1": VIEW,
    "event_2": ADD,
    "event_3": ORDER,
}


def query(**extra) -> str:
    return urlencode({**SHOP_FIELDS, **extra})


def test_the_page_shows_the_steps_and_shares_the_funnel_by_url(shoppers, marketer_client):
    page = marketer_client.get(f"/insights/funnels/?{query()}")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-chart="funnel-chart"' in html
    assert "6 people started; 33% finished" in html
    # Median from the step before: adding 20 min after viewing (f1 30, f2 60, f3 20, f4 10,
    # f6 5), ordering 35 min after adding (f1 60, f6 10).
    assert '<span title="1200 s">20 min 0 s</span>' in html and ">35 min 0 s<" in html


def test_a_saved_funnel_opens_as_its_url(shoppers, marketer_client):
    response = marketer_client.post("/insights/funnels/", {**SHOP_FIELDS, "name": "Shop"})
    saved = Funnel.objects.get(name="Shop")
    assert response.status_code == 302 and response["Location"] == f"/insights/funnels/{saved.pk}/"
    assert [s["name"] for s in saved.steps] == [VIEW, ADD, ORDER] and saved.ordered
    opened = marketer_client.get(f"/insights/funnels/{saved.pk}/")
    assert opened.status_code == 302 and "steps%5B2%5D.name=Order+Completed" in opened["Location"]
    assert "6 people started" in marketer_client.get(opened["Location"]).content.decode()


def test_a_funnel_saved_broken_down_opens_broken_down(shoppers, marketer_client):
    fields = {**SHOP_FIELDS, "name": "By source", "by": "source"}
    marketer_client.post("/insights/funnels/", fields)
    saved = Funnel.objects.get(name="By source")
    assert saved.breakdown == {"by": "source", "key": ""}
    opened = marketer_client.get(f"/insights/funnels/{saved.pk}/")
    assert "by=source" in opened["Location"]


def test_a_marketer_deletes_a_saved_funnel_and_a_viewer_cannot(shoppers, client, make_user):
    saved = Funnel.objects.create(name="Shop", steps=[{"name": VIEW}, {"name": ADD}])
    client.force_login(make_user("Viewer"))
    assert client.post(f"/insights/funnels/{saved.pk}/delete/").status_code == 403
    assert "Delete a saved funnel" not in client.get("/insights/funnels/").content.decode()
    client.force_login(make_user("Marketer"))
    page = client.get("/insights/funnels/").content.decode()
    assert f'action="/insights/funnels/{saved.pk}/delete/"' in page
    assert client.post(f"/insights/funnels/{saved.pk}/delete/")["Location"] == "/insights/funnels/"
    assert not Funnel.objects.exists()


def test_drop_offs_save_as_a_static_segment(shoppers, marketer_client):
    response = marketer_client.post("/insights/funnels/drop-offs/", {**SHOP_FIELDS, "at": "1"})
    segment = Segment.objects.get()
    assert response["Location"] == f"/segments/{segment.pk}/" and segment.member_count == 3
    assert segment.name == "Did Product Added but not Order Completed"


def test_a_viewer_reads_funnels_but_saves_nothing(shoppers, client, make_user):
    client.force_login(make_user("Viewer"))
    assert client.get(f"/insights/funnels/?{query()}").status_code == 200
    assert client.post("/insights/funnels/", {"event_1": VIEW, "event_2": ADD}).status_code == 403
    assert client.post("/insights/funnels/drop-offs/", {"at": "0"}).status_code == 403
    assert not Funnel.objects.exists()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"event_1": VIEW}, "A funnel has 2 to 10 steps."),
        ({"event_1": VIEW, "event_2": ADD, "window": "0"}, "greater than or equal to 1"),
        ({"steps[0].name": VIEW, "steps[1].name": " "}, "Enter an event name."),
        (
            {"steps[0].name": VIEW, "steps[1].name": ADD, "steps[1].where[0].property": "x"},
            "Choose how to compare.",
        ),
        (
            {
                "steps[0].name": VIEW,
                "steps[1].name": ADD,
                "steps[1].where[0].property": "price",
                "steps[1].where[0].op": "gt",
                "steps[1].where[0].value": "cheap",
            },
            "Enter a number.",
        ),
        ({"event_1": VIEW, "event_2": ADD, "by": "trait"}, "Enter the property or trait"),
        ({"event_1": VIEW, "event_2": ADD, "start": "2026-11-30", "end": "2026-11-01"}, "before"),
        ({"event_1": VIEW, "event_2": ADD, "start": "2020-01-01", "end": "2026-11-01"}, "at most"),
        ({"event_1": VIEW, "event_2": ADD, "start": "yesterday"}, "Enter a valid date."),
        ({"event_1": VIEW, "event_2": ADD, "order": "sideways"}, "Select a valid choice"),
    ],
)
def test_a_bad_funnel_is_a_400_with_a_message(marketer_client, fields, message):
    page = marketer_client.get(f"/insights/funnels/?{urlencode(fields)}")
    assert page.status_code == 400 and message in page.content.decode()


def test_events_after_the_period_still_complete_a_funnel_started_in_it(web, send):
    last_day = T0 + timedelta(days=29, hours=11)  # 30 Nov, late
    send(web, message(userId="late", event=VIEW, timestamp=last_day.isoformat()))
    send(
        web, message(userId="late", event=ADD, timestamp=(last_day + timedelta(days=1)).isoformat())
    )
    assert funnel(NOVEMBER, SHOP[:2], window_days=7, ordered=True).counts == [1, 1]


def test_the_api_gives_the_funnel_numbers(shoppers, marketer_client):
    body = marketer_client.get(f"/api/v1/insights/funnel/?{query()}").json()
    assert body["people"] == [6, 5, 2] and body["conversion"][1] == pytest.approx(5 / 6)
    bad = marketer_client.get("/api/v1/insights/funnel/?event_1=x")
    assert bad.status_code == 400 and "steps" in bad.json()["error"]["fields"]


def test_the_funnel_downloads_as_csv(shoppers, marketer_client):
    lines = marketer_client.get(f"/insights/funnels/?{query(format='csv')}").content.decode()
    assert lines.splitlines()[1].startswith("1,Product Viewed,6,")
    weekly = marketer_client.get(f"/insights/funnels/?{query(format='csv', table='time')}")
    assert weekly.content.decode().splitlines()[1:] == ["2026-10-26,6,2,33.3"]
    by = query(format="csv", table="by", by="property", key="category")
    lines = marketer_client.get(f"/insights/funnels/?{by}").content.decode().splitlines()
    assert lines == [
        "property category,step 1,step 2,step 3,conversion %",
        "Shirts,5,4,1,20.0",
        "Tents,1,1,1,100.0",
    ]


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"steps[1].name": "\ud800"}, "steps[1].name"),
        (
            {"steps[1].where[0].property": "\ud800", "steps[1].where[0].op": "is_set"},
            "steps[1].where[0].property",
        ),
        (
            {"steps[1].where[0].property": "c", "steps[1].where[0].value": "\ud800"},
            "steps[1].where[0].value",
        ),
        ({"by": "trait", "key": "\ud800"}, "key"),
    ],
)
def test_text_that_cannot_be_stored_is_refused_by_the_form(fields, field):
    """A lone surrogate cannot reach PostgreSQL (nor a URL): the form refuses it."""
    form = FunnelForm(
        {"steps[0].name": VIEW, "steps[1].name": ADD, "steps[1].where[0].op": "equals", **fields}
    )
    assert not form.is_valid() and field in form.errors
