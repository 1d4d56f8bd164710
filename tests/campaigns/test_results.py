"""Results: conversions from goal events, the funnel per variant, lift with its interval."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string

from campaigns import results
from campaigns.models import Campaign, Delivery, Enrollment
from profiles.models import Identity
from tests.campaigns.conftest import log_steps
from tests.profiles.conftest import message, send, web  # noqa: F401

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_lift_and_its_95_percent_interval_on_known_counts():
    got = results.lift(treated_n=200, treated_conversions=40, holdout_n=100, holdout_conversions=10)
    assert got.enough and got.significant
    assert got.treated_rate == pytest.approx(0.20)
    assert got.holdout_rate == pytest.approx(0.10)
    assert got.difference == pytest.approx(0.10)
    se = math.sqrt(0.2 * 0.8 / 200 + 0.1 * 0.9 / 100)
    assert got.ci_low == pytest.approx(0.10 - 1.959964 * se, abs=1e-6)
    assert got.ci_high == pytest.approx(0.10 + 1.959964 * se, abs=1e-6)
    assert got.ci_low == pytest.approx(0.019187, abs=1e-5)
    assert got.relative == pytest.approx(1.0)


def test_an_interval_across_zero_is_not_significant():
    got = results.lift(treated_n=100, treated_conversions=12, holdout_n=100, holdout_conversions=10)
    assert got.enough and not got.significant
    assert got.ci_low < 0 < got.ci_high
    assert "includes zero" in got.note


@pytest.mark.parametrize(
    "counts",
    [
        dict(treated_n=40, treated_conversions=4, holdout_n=40, holdout_conversions=9),
        dict(treated_n=8, treated_conversions=4, holdout_n=8, holdout_conversions=4),
        dict(treated_n=100, treated_conversions=97, holdout_n=100, holdout_conversions=50),
    ],
)
def test_small_counts_say_not_enough_data(counts):
    got = results.lift(**counts)
    assert not got.enough and got.ci_low is None and got.ci_high is None
    assert got.note.startswith("Not enough data")
    assert got.difference is not None  # the raw rates are still shown


def test_no_holdout_says_so():
    got = results.lift(treated_n=50, treated_conversions=10, holdout_n=0, holdout_conversions=0)
    assert not got.enough and "No holdout" in got.note


@pytest.fixture
def people(web, send):  # noqa: F811
    for i in range(4):
        send(web, message("identify", userId=f"p{i}", traits={"email": f"p{i}@example.org"}))
    # p0: buys 1 day after the send (inside the 7-day window); p1: 9 days after (outside);
    # p2: buys before the send only; p3: never. p0 buys twice: the first counts.
    for user, days in [("p0", 1), ("p0", 2), ("p1", 9), ("p2", -1)]:
        send(
            web,
            message(
                userId=user,
                event="Order Completed",
                timestamp=(T0 + timedelta(days=days)).isoformat(),
            ),
        )
    return [Identity.objects.get(kind__name="user_id", value=f"p{i}").profile_id for i in range(4)]


def campaign_with(people, *, holdout_for=()):
    campaign = Campaign.objects.create(
        name="Cart",
        kind=Campaign.Kind.EVENT,
        goal_event="Order Completed",
        conversion_window_days=7,
        steps=[
            {"id": "split", "type": "split", "variants": []},
            {"id": "mail", "type": "send_email", "label": "Reminder"},
        ],
    )
    for pid in people:
        holdout = pid in holdout_for
        enrollment = Enrollment.objects.create(
            campaign=campaign,
            profile_id=pid,
            entered_at=T0,
            holdout=holdout,
            variant="holdout" if holdout else "A",
            state=Enrollment.State.COMPLETED,
            step_id="mail",
        )
        log_steps(enrollment, ("split", "A"), at=T0)
        if holdout:
            continue
        log_steps(enrollment, ("mail", "passed"), at=T0)
        Delivery.objects.create(
            idempotency_key=f"{campaign.pk}-{pid}",
            campaign=campaign,
            enrollment=enrollment,
            profile_id=pid,
            step_id="mail",
            variant="A",
            channel=Delivery.Channel.EMAIL,
            status=Delivery.Status.SENT,
            sent_at=T0,
        )
    return campaign


def test_conversions_are_marked_from_goal_events_inside_the_window_once(people):
    campaign = campaign_with(people)
    marked = results.mark_conversions(campaign)
    assert marked == results.Marked(deliveries=1, enrollments=1)
    converted = Delivery.objects.get(campaign=campaign, converted_at__isnull=False)
    assert converted.profile_id == people[0]
    assert converted.converted_at == T0 + timedelta(days=1)
    assert results.mark_conversions(campaign) == results.Marked(0, 0)  # idempotent
    assert Delivery.objects.get(pk=converted.pk).converted_at == T0 + timedelta(days=1)


def test_campaign_results_counts_steps_deliveries_and_variants(people):
    campaign = campaign_with(people, holdout_for={people[3]})
    Delivery.objects.filter(profile_id=people[2]).update(
        status=Delivery.Status.SKIPPED, sent_at=None, reason="No e-mail consent"
    )
    Delivery.objects.filter(profile_id=people[0]).update(opened_at=T0, clicked_at=T0)
    got = results.campaign_results(campaign)
    assert got["entered"] == 4
    steps = {s["id"]: s for s in got["steps"]}
    assert [s["id"] for s in got["steps"]] == ["split", "mail"]
    assert steps["split"]["reached"] == 4 and steps["mail"]["passed"] == 3
    assert steps["mail"]["label"] == "Reminder"
    d = got["deliveries"]
    assert (d["total"], d["sent"], d["skipped"]) == (3, 2, 1)
    assert "delivered" not in d  # no channel reports delivery: the page does not claim it
    assert (d["opened"], d["clicked"], d["converted"]) == (1, 1, 1)
    assert got["skip_reasons"] == [{"reason": "No e-mail consent", "count": 1}]
    variants = {v["variant"]: v for v in got["variants"]}
    assert variants["A"]["entered"] == 3 and variants["A"]["converted_people"] == 1
    assert variants["holdout"]["entered"] == 1 and variants["holdout"]["sent"] == 0
    assert got["lift"].treated_n == 3 and got["lift"].holdout_n == 1
    assert not got["lift"].enough
    assert got["over_time"] == [
        {"day": (T0 + timedelta(days=1)).date(), "treated": 1, "holdout": 0}
    ]
    charts = results.charts(got)
    assert [t["name"] for t in charts["funnel"]["data"]] == ["A", "holdout"]
    assert charts["funnel"]["data"][0]["x"] == [3, 2, 1, 1, 1]


def test_lift_from_enrollments_of_treated_and_holdout():
    campaign = Campaign.objects.create(name="L", kind=Campaign.Kind.EVENT)
    rows = []
    for i in range(300):
        holdout = i >= 200
        converted = (i < 40) or (200 <= i < 210)
        rows.append(
            Enrollment(
                campaign=campaign,
                profile_id=10_000 + i,
                entered_at=T0,
                holdout=holdout,
                converted_at=T0 + timedelta(hours=1) if converted else None,
            )
        )
    Enrollment.objects.bulk_create(rows)
    got = results.holdout_lift(campaign)
    assert (got.treated_n, got.treated_conversions) == (200, 40)
    assert (got.holdout_n, got.holdout_conversions) == (100, 10)
    assert got.enough and got.ci_low == pytest.approx(0.019187, abs=1e-5)


def test_results_pages_by_role(client_as, people):
    campaign = campaign_with(people, holdout_for={people[3]})
    for role, allowed in [
        ("Admin", True),
        ("Marketer", True),
        ("Account manager", False),
        ("Viewer", False),
    ]:
        client = client_as(role)
        page = client.get(f"/campaigns/{campaign.pk}/results/")
        panel = client.get(f"/campaigns/{campaign.pk}/results/panel/")
        assert page.status_code == panel.status_code == (200 if allowed else 403), role
        if allowed:
            body = page.content.decode()
            assert f'data-chart="funnel-chart-{campaign.pk}"' in body
            assert f'id="funnel-chart-{campaign.pk}"' in body  # the json_script data
            assert "vendor/plotly/plotly.min.js" in body and "Not enough data" in body
            # Nothing reports delivery: no "Delivered" figure, and "Sent" says what it means.
            assert "Delivered" not in body and "No channel reports delivery" in body
            assert "<html" not in panel.content.decode()
        client.logout()

    client.force_login(get_user_model().objects.get(email="marketer@example.org"))
    assert client.get("/campaigns/999999/results/").status_code == 404


def test_the_panel_embeds_with_only_a_campaign(people):

    campaign = campaign_with(people)
    html = render_to_string("campaigns/results_panel.html", {"campaign": campaign})
    assert f'hx-get="/campaigns/{campaign.pk}/results/panel/"' in html
    assert "plotly.min.js" in html and "js/charts.js" in html
