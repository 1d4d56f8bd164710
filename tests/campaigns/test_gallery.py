"""The gallery: each ready-made journey becomes a valid, editable draft with its messages."""

import pytest
from django.urls import reverse

from campaigns import gallery, templating
from campaigns.journeys import grammar
from campaigns.models import Campaign, MessageTemplate
from cdp_site.permissions import MARKETER, VIEWER
from integrations.models import Destination
from segments.models import Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(db):
    Destination.objects.create(name="Off", kind=Destination.Kind.SMTP, enabled=False)
    return Destination.objects.create(name="Mail", kind=Destination.Kind.SMTP)


def test_every_stage_has_journeys_and_each_says_its_stage():
    stages = {item.stage for item in gallery.ITEMS}
    assert stages == {"orientation", "consideration", "acquisition", "retention"}
    assert {
        "cart-abandonment",
        "quote-follow-up",
        "repeat-purchase",
        "loyalty-reward",
        "recommendations",
        "welcome-download",
        "nurture-product-viewers",
    } <= set(gallery.BY_KEY)


@pytest.mark.parametrize("key", list(gallery.BY_KEY))
def test_each_item_creates_a_valid_draft_with_its_templates(smtp, key):
    campaign = gallery.create(key=key)
    assert campaign.status == Campaign.Status.DRAFT and campaign.gallery_key == key
    grammar.validate(campaign.steps)
    for step in campaign.steps:
        if step["type"] == "send_email":
            assert step["destination_id"] == smtp.pk
            template = MessageTemplate.objects.get(pk=step["template_id"])
            templating.validate_template(subject=template.subject, body_html=template.body_html)
    if campaign.kind == Campaign.Kind.EVENT:
        assert campaign.trigger_event
    else:
        assert campaign.segment is not None


def test_cart_abandonment_waits_then_sends_the_cart(smtp):
    campaign = gallery.create(key="cart-abandonment")
    assert campaign.trigger_event == "Checkout Started"
    assert campaign.goal_event == "Order Completed"
    first, awaiting = campaign.steps[0], campaign.steps[1]
    assert first == {
        "id": "wait-1h",
        "type": "wait",
        "minutes": 60,
        "next": "await-order",
        "label": "Give them an hour",
    }
    assert awaiting["type"] == "wait_for_event" and awaiting["event"] == "Order Completed"
    mail = grammar.by_id(campaign.steps)[awaiting["timeout_next"]]
    template = MessageTemplate.objects.get(pk=mail["template_id"])
    assert "{% for item in event.products %}" in template.body_html


def test_the_nurture_series_makes_its_segment_once(smtp):
    first = gallery.create(key="nurture-product-viewers")
    second = gallery.create(key="nurture-product-viewers")
    assert first.segment_id == second.segment_id
    assert Segment.objects.filter(pk=first.segment_id).count() == 1
    assert first.kind == Campaign.Kind.SEGMENT_ENTERED
    assert second.name == "Nurture returning product viewers (2)"
    assert sum(s["type"] == "send_email" for s in first.steps) == 3


def test_without_an_smtp_destination_the_draft_asks_for_one_when_started(client_as, db):
    client = client_as(MARKETER)
    response = client.post(reverse("campaigns:gallery"), {"key": "cart-abandonment"})
    campaign = Campaign.objects.get(gallery_key="cart-abandonment")
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Choose a destination." in page
    response = client.post(reverse("campaigns:start", args=[campaign.pk]))
    assert response.status_code == 400 and "Choose a destination." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_gallery_page_shows_stages_and_viewers_may_not_use_it(client_as):
    page = client_as(MARKETER).get(reverse("campaigns:gallery")).content.decode()
    assert "Stage: Acquisition" in page and "Stage: Retention and loyalty" in page
    assert "Cart abandonment" in page and "Use this journey" in page
    viewer = client_as(VIEWER)
    assert viewer.post(reverse("campaigns:gallery"), {"key": "cart-abandonment"}).status_code == 403
    assert not Campaign.objects.exists()
