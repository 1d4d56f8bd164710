"""A marketer's template cannot exhaust a worker: too much output, time, nesting or a
filter that raises stops with a clear error, in the preview (never a 500) and at send
time (that delivery fails with the reason, the rest of the batch is sent)."""

import html
import time

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import delivery, templating
from campaigns.models import Delivery, MessageTemplate
from profiles.models import Profile
from tests.campaigns.conftest import pending_mails

pytestmark = pytest.mark.django_db

TEN = '"0123456789"|make_list'
HOSTILE = {
    # Loops nested six deep over ten items: a million iterations, ten million characters.
    "nested loops": "".join(f"{{% for v{i} in {TEN} %}}" for i in range(6))
    + "xxxxxxxxxx"
    + "{% endfor %}" * 6,
    # A range-like construct (a long padded string) iterated in three nested loops, with
    # an empty body: nothing is output, only time is spent.
    "loops over a range": "".join(f'{{% for v{i} in "x"|ljust:"1000" %}}' for i in range(3))
    + "{% endfor %}" * 3,
    "a huge center": '{{ "x"|center:"999999999" }}',
    "a huge lorem": "{% lorem 100000 w %}",
    "blocks nested too deep": "{% if True %}" * 40 + "x" + "{% endif %}" * 40,
    "a filter that raises": "{{ 5|divisibleby:0 }}",
    "doubling with add": '{% with a="'
    + "x" * 10_000
    + '"|add:"" %}'
    + "".join(f"{{% with {n}={p}|add:{p} %}}" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
    + "{{ i }}"
    + "{% endwith %}" * 9,
}
SAYS = {
    "nested loops": "larger than 1 MB",
    "loops over a range": "loops nested too deep",
    "a huge center": "“center” accepts at most 1000",
    "a huge lorem": "“lorem” accepts at most 100",
    "blocks nested too deep": "nested",
    "a filter that raises": "ZeroDivisionError",
    "doubling with add": "“add” would build more than",
}


def hostile_template(name: str) -> MessageTemplate:
    # Saved as it would be by an older version or straight into the database: rendering
    # must hold even for templates that validation would now refuse.
    return MessageTemplate.objects.create(name=name, subject="Hi", body_html=HOSTILE[name])


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_template_stops_quickly_with_a_clear_error(name):
    started = time.monotonic()
    with pytest.raises(ValidationError) as caught:
        templating.render(
            template=hostile_template(name), profile=Profile(traits={}, computed={}), context={}
        )
    assert time.monotonic() - started < 5
    assert SAYS[name] in " ".join(caught.value.messages)


@pytest.mark.parametrize("name", HOSTILE)
def test_the_preview_shows_the_error_instead_of_a_500(client_as, name):
    tpl = hostile_template(name)
    response = client_as("Marketer").get(f"/campaigns/messages/{tpl.pk}/preview/")
    assert response.status_code == 200
    assert SAYS[name] in html.unescape(response.content.decode())


def test_nesting_too_deep_is_refused_when_the_template_is_saved():
    with pytest.raises(ValidationError) as caught:
        templating.validate_template(subject="Hi", body_html=HOSTILE["blocks nested too deep"])
    assert "nested" in caught.value.message_dict["body_html"][0]


def test_an_ordinary_template_with_loops_and_filters_still_renders():
    tpl = MessageTemplate.objects.create(
        name="ok",
        subject="Hi {{ traits.firstName|center:20 }}",
        body_html="{% for p in event.products %}<b>{{ p.name|ljust:10 }}</b>"
        "{{ p.price|floatformat:2 }}{% endfor %}{% lorem 3 w %}",
    )
    context = {"properties": {"products": [{"name": "Boots", "price": 20}] * 50}}
    rendered = templating.render(
        template=tpl, profile=Profile(traits={"firstName": "Ann"}, computed={}), context=context
    )
    assert rendered.html.count("<b>Boots     </b>20.00") == 50


def test_at_send_time_the_delivery_fails_with_the_reason_and_the_batch_goes_on(send, web, smtp):
    tpl = MessageTemplate.objects.create(
        name="one hostile branch",
        subject="Hello",
        body_html='{% if traits.firstName == "Ann" %}{{ "x"|center:"999999999" }}{% endif %}'
        "<p>Hello {{ traits.firstName }}</p>",
    )
    pending_mails(send, web, smtp, tpl, ["ann", "bob"])
    now = timezone.now()
    batch, token = delivery.reserve(now=now, limit=10)
    delivery.deliver_batch(batch, token=token, now=now)

    ann = Delivery.objects.get(profile_id=Profile.objects.get(traits__firstName="Ann").pk)
    bob = Delivery.objects.get(profile_id=Profile.objects.get(traits__firstName="Bob").pk)
    assert ann.status == "failed" and "“center” accepts at most 1000" in ann.reason
    assert bob.status == "sent"
    assert [m["To"] for m in smtp.inbox.messages] == ["bob@example.org"]
