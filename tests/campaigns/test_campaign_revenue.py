"""Revenue and conversions attributed to a campaign's e-mails: an order within the
conversion window after a click on one of its e-mails counts, once, per currency."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from campaigns import results, revenue, tracking
from campaigns.models import Campaign, Delivery
from profiles.models import Identity
from profiles.services import merge_profiles
from tests.profiles.conftest import message, send, web  # noqa: F401

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def order(user, at, **properties):
    return message(userId=user, event="Order Completed", timestamp=at.isoformat(), **properties)


def profile_id(user):
    return Identity.objects.get(kind__name="user_id", value=user).profile_id


def campaign_mailing(users, *, name="Winter sale", window=7):
    campaign = Campaign.objects.create(
        name=name,
        kind=Campaign.Kind.EVENT,
        goal_event="Order Completed",
        conversion_window_days=window,
        steps=[{"id": "mail", "type": "send_email"}],
    )
    for user in users:
        Delivery.objects.create(
            idempotency_key=f"{campaign.pk}-{user}",
            campaign=campaign,
            profile_id=profile_id(user),
            step_id="mail",
            channel=Delivery.Channel.EMAIL,
            status=Delivery.Status.SENT,
            sent_at=T0,
        )
    return campaign


def clicked(campaign, user, at):
    Delivery.objects.filter(campaign=campaign, profile_id=profile_id(user)).update(
        opened_at=at, clicked_at=at
    )


@pytest.fixture
def buyers(web, send):  # noqa: F811
    """ann clicks at T0 and orders 50 and 30 EUR within the week, 100 EUR after it; bob
    clicks and orders "20" (no currency: the default); cat never clicks and orders 999;
    dan ordered the day before he clicked."""
    for user in ("ann", "bob", "cat", "dan"):
        send(web, message("identify", userId=user, traits={"email": f"{user}@example.org"}))
    send(
        web,
        order("ann", T0 + timedelta(days=1), properties={"revenue": 50, "currency": "EUR"}),
        order("ann", T0 + timedelta(days=2), properties={"revenue": 30, "currency": "eur"}),
        order("ann", T0 + timedelta(days=9), properties={"revenue": 100, "currency": "EUR"}),
        order("bob", T0 + timedelta(days=3), properties={"total": "20"}),
        order("cat", T0 + timedelta(days=1), properties={"revenue": 999, "currency": "EUR"}),
        order("dan", T0 - timedelta(days=1), properties={"revenue": 7, "currency": "EUR"}),
    )
    campaign = campaign_mailing(["ann", "bob", "cat", "dan"])
    for user in ("ann", "bob", "dan"):
        clicked(campaign, user, T0)
    return campaign


@override_settings(CDP_DEFAULT_CURRENCY="USD")
def test_orders_within_the_window_after_a_click_count_per_currency(buyers):
    got = revenue.email_revenue(buyers)

    assert (got["orders"], got["buyers"]) == (3, 2)
    assert got["per_currency"] == [
        {"currency": "EUR", "orders": 2, "buyers": 1, "revenue": 80.0},
        {"currency": "USD", "orders": 1, "buyers": 1, "revenue": 20.0},
    ]


def test_an_order_counts_once_however_many_of_its_emails_were_clicked(buyers):
    # A second e-mail of the same campaign, clicked the day after: ann's orders once.
    Delivery.objects.create(
        idempotency_key=f"{buyers.pk}-ann-2",
        campaign=buyers,
        profile_id=profile_id("ann"),
        step_id="mail",
        channel=Delivery.Channel.EMAIL,
        status=Delivery.Status.SENT,
        sent_at=T0,
        clicked_at=T0 + timedelta(days=1, hours=-1),
    )
    eur = revenue.email_revenue(buyers)["per_currency"][0]
    assert (eur["orders"], eur["revenue"]) == (2, 80.0)


def test_another_campaigns_clicks_and_other_channels_do_not_count(buyers):
    other = campaign_mailing(["cat"], name="Other")
    clicked(other, "cat", T0)
    Delivery.objects.filter(campaign=buyers, profile_id=profile_id("cat")).update(
        channel=Delivery.Channel.WEBHOOK, clicked_at=T0
    )

    assert revenue.email_revenue(buyers)["orders"] == 3
    assert revenue.email_revenue(other)["per_currency"] == [
        {"currency": "EUR", "orders": 1, "buyers": 1, "revenue": 999.0}
    ]


def test_a_longer_window_reaches_later_orders(buyers):
    buyers.conversion_window_days = 10
    buyers.save()

    eur = revenue.email_revenue(buyers)["per_currency"][0]
    assert (eur["orders"], eur["revenue"]) == (3, 180.0)


def test_a_merged_buyers_orders_follow_them_to_the_survivor(buyers, send, web, make_user):  # noqa: F811
    send(web, message("identify", userId="bob2"))
    send(web, order("bob2", T0 + timedelta(days=4), properties={"revenue": 5, "currency": "USD"}))
    merge_profiles(
        survivor_id=profile_id("bob2"), merged_id=profile_id("bob"), actor=make_user("Admin")
    )

    usd = revenue.email_revenue(buyers)["per_currency"][1]
    assert (usd["orders"], usd["revenue"]) == (2, 25.0)


def test_a_campaign_without_clicks_has_no_revenue(web, send):  # noqa: F811
    send(web, message("identify", userId="zed"))
    campaign = campaign_mailing(["zed"])

    assert revenue.email_revenue(campaign) == {
        "event": "Order Completed",
        "orders": 0,
        "buyers": 0,
        "per_currency": [],
        "too_slow": False,
    }


def test_a_click_through_the_tracking_link_then_an_order_shows_on_the_results(
    web,  # noqa: F811
    send,  # noqa: F811
    client,
    make_user,
):
    send(web, message("identify", userId="eve"))
    campaign = campaign_mailing(["eve"])
    delivery = Delivery.objects.get(campaign=campaign)
    link = tracking.click_url(delivery.pk, "https://shop.example/sale")
    assert client.get(link.removeprefix(tracking.base_url())).status_code == 302
    later = timezone.now() + timedelta(minutes=5)
    send(web, order("eve", later, properties={"revenue": "12.5", "currency": "GBP"}))

    got = results.campaign_results(campaign)["email_revenue"]
    assert got["per_currency"] == [{"currency": "GBP", "orders": 1, "buyers": 1, "revenue": 12.5}]

    client.force_login(make_user("Marketer"))
    page = client.get(f"/campaigns/{campaign.pk}/results/").content.decode()
    assert "Revenue from its e-mails" in page and "12.50" in page and "GBP" in page
    body = client.get(f"/api/v1/campaigns/{campaign.pk}/results/").json()
    assert body["email_revenue"]["per_currency"][0]["revenue"] == 12.5


def test_revenue_past_its_time_limit_leaves_the_rest_of_the_results(buyers, monkeypatch):
    monkeypatch.setattr(revenue, "TIME_LIMIT_MS", 50)
    monkeypatch.setattr(revenue, "REVENUE", "SELECT pg_sleep(1)")

    got = results.campaign_results(buyers)
    assert got["email_revenue"]["too_slow"] and got["entered"] == 0


@override_settings(CDP_DEFAULT_CURRENCY="USD")
def test_a_source_mapping_amount_counts_its_amount_in_its_currency(web, send):  # noqa: F811
    from integrations import services
    from integrations.models import Source

    till = services.create_source(
        name="Till", kind=Source.Kind.POINT_OF_SALE, revenue_property="amount", currency="EUR"
    )
    send(web, message("identify", userId="eve", traits={"email": "eve@example.org"}))
    send(
        till,
        order("eve", T0 + timedelta(days=1), properties={"amount": 12, "revenue": 999}),
        order("eve", T0 + timedelta(days=2), properties={"amount": "5", "currency": "GBP"}),
    )
    campaign = campaign_mailing(["eve"])
    clicked(campaign, "eve", T0)

    assert revenue.email_revenue(campaign)["per_currency"] == [
        {"currency": "EUR", "orders": 1, "buyers": 1, "revenue": 12.0},
        {"currency": "GBP", "orders": 1, "buyers": 1, "revenue": 5.0},
    ]
