"""Bad input for activation, one test each: a clear message before anything is sent, or
a clear failure recorded afterwards, and never a message sent twice or lost."""

import time

import pytest
from django.core.exceptions import ValidationError

from campaigns import runner, services, templating
from campaigns.journeys import grammar
from campaigns.models import Campaign, Delivery
from integrations.destinations import services as destinations
from integrations.destinations.models import DeadLetter
from segments import services as segments

from .conftest import at, campaign, person, pump, track

pytestmark = pytest.mark.django_db


def test_a_template_with_a_syntax_error_is_refused_with_its_line():
    with pytest.raises(ValidationError) as caught:
        templating.validate_template(subject="Hi", body_html="<p>ok</p>\n{% for p in %}")
    assert caught.value.message_dict["body_html"][0].startswith("Line 2:")


def test_a_template_with_an_unknown_variable_is_refused_before_anything_is_sent():
    with pytest.raises(ValidationError) as caught:
        templating.validate_template(subject="Hi {{ custmer.firstName }}", body_html="<p>x</p>")
    assert "unknown variable “custmer”" in caught.value.message_dict["subject"][0]
    templating.validate_template(
        subject="Hi {{ traits.firstName|default:'there' }}",
        body_html="{% for p in event.products %}{{ p.name }}{% endfor %}"
        '{% if traits.city == "New York" %}NY{% endif %}',
    )  # the variables a message is given pass


@pytest.mark.parametrize("status", [500, 429])
def test_a_webhook_answering_500_or_429_is_retried_then_dead_lettered(send, web, webhook, status):
    webhook.server.statuses = [status] * 10
    campaign(
        [{"id": "hook", "type": "webhook", "destination_id": webhook.pk}], trigger_event="Signed Up"
    )
    person(send, web, "ann")
    track(send, web, "ann", "Signed Up", 0)
    pump(0)
    for minutes in range(20, 200, 20):
        runner.deliver_due(now=at(minutes))
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and f"HTTP {status}" in delivery.reason
    letter = DeadLetter.objects.get()
    assert letter.idempotency_key == delivery.idempotency_key and letter.attempts == 5
    assert len(webhook.server.received) == 5  # each attempt once, none after giving up


def test_a_destination_that_times_out_is_retried_and_then_failed(send, web, webhook):

    config = dict(webhook.config, timeout=0.2)
    destinations.update_destination(destination=webhook, name=webhook.name, config=config)
    webhook.server.delay = 1.0  # the local server answers after the timeout
    campaign(
        [{"id": "hook", "type": "webhook", "destination_id": webhook.pk}], trigger_event="Signed Up"
    )
    person(send, web, "ann")
    track(send, web, "ann", "Signed Up", 0)
    started = time.monotonic()
    pump(0)
    delivery = Delivery.objects.get()
    assert time.monotonic() - started < 5
    assert delivery.status == "pending" and delivery.reason.startswith("retrying:")


def test_bad_smtp_credentials_fail_the_email_once_with_a_clear_reason(send, web, template):
    bad = destinations.create_destination(
        name="Wrong port",
        kind="smtp",
        config={
            "host": "127.0.0.1",
            "port": 9,
            "from_email": "shop@example.org",
            "starttls": False,
            "timeout": 1,
        },
    )
    steps_ = [
        {"id": "mail", "type": "send_email", "template_id": template.pk, "destination_id": bad.pk}
    ]
    campaign(steps_, trigger_event="Signed Up")
    person(send, web, "ann")
    track(send, web, "ann", "Signed Up", 0)
    pump(0)
    for minutes in range(20, 200, 20):
        runner.deliver_due(now=at(minutes))
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.reason


def test_a_journey_with_a_loop_is_refused_at_the_step_that_loops():
    with pytest.raises(grammar.StepsError) as caught:
        grammar.validate(
            [
                {"id": "a", "type": "wait", "minutes": 5, "next": "b"},
                {
                    "id": "b",
                    "type": "branch",
                    "condition": {"type": "stage", "in": ["retention"]},
                    "yes": "a",
                    "no": None,
                },
            ]
        )
    assert caught.value.errors == [
        {"field": "steps[1].yes", "message": "This leads back to a: journeys cannot loop."}
    ]


def test_a_journey_with_an_unreachable_step_is_refused():
    with pytest.raises(grammar.StepsError) as caught:
        grammar.validate([{"id": "a", "type": "exit"}, {"id": "lost", "type": "exit"}])
    assert caught.value.errors == [{"field": "steps[1]", "message": "Nothing leads to lost."}]


def test_a_segment_a_campaign_uses_cannot_be_deleted_and_a_missing_one_is_refused():
    stage = {"type": "stage", "in": ["retention"]}
    rule = {"version": 1, "root": {"type": "group", "match": "all", "children": [stage]}}
    audience = segments.create_segment(name="Loyal", rule=rule)
    broadcast = services.create_campaign(
        name="News",
        kind=Campaign.Kind.BROADCAST,
        segment=audience,
        steps=[{"id": "x", "type": "exit"}],
    )
    with pytest.raises(segments.SegmentError, match="Used by campaign “News”"):
        segments.delete_segment(segment=audience)
    with pytest.raises(services.CampaignError):
        services.create_campaign(
            name="Ghost",
            kind=Campaign.Kind.BROADCAST,
            segment=None,
            steps=[{"id": "x", "type": "exit"}],
        )
    assert Campaign.objects.filter(pk=broadcast.pk).exists()
