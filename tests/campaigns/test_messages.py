"""Personalised messages: sandboxed rendering, tracked links, unsubscribe headers."""

import html
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.exceptions import ValidationError

from campaigns import templating
from campaigns.models import Campaign, Delivery, MessageTemplate
from integrations.destinations.models import Destination
from integrations.destinations.services import create_destination
from profiles.models import Profile
from profiles.rules import services as personal_data
from tests.campaigns import conftest
from tests.profiles.conftest import send, web  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(web, send):  # noqa: F811
    return conftest.person(
        send, web, "ann", consent=False, firstName="<script>alert(1)</script>Ann"
    )


def template(**fields):
    fields.setdefault("name", "T")
    fields.setdefault("subject", "Hello {{ traits.firstName }}")
    fields.setdefault("body_html", "<p>Hi {{ profile.firstName }}</p>")
    return MessageTemplate.objects.create(**fields)


def delivery_for(profile, tpl):
    campaign = Campaign.objects.create(name="C", kind=Campaign.Kind.EVENT)
    return Delivery.objects.create(
        idempotency_key=f"k-{profile.pk}",
        campaign=campaign,
        profile_id=profile.pk,
        step_id="s1",
        channel=Delivery.Channel.EMAIL,
        template=tpl,
    )


def test_a_trait_with_script_is_escaped_in_html_and_kept_plain_in_the_subject(person):
    rendered = templating.render(template=template(), profile=person, context={})
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Ann" in rendered.html
    assert rendered.subject == "Hello <script>alert(1)</script>Ann"
    assert "Hi <script>" in rendered.text  # the text part is plain text, derived from HTML


def test_cart_items_from_the_trigger_context(person):
    tpl = template(
        body_html=(
            "{% for item in event.products %}<li>{{ item.name }} x{{ item.quantity }}"
            " {{ item.price|floatformat:2 }}</li>{% endfor %}<p>{{ event.products|length }}</p>"
        )
    )
    context = {
        "products": [
            {"name": "Rain jacket", "price": 99.5, "quantity": 1},
            {"name": "Boots & socks", "price": 40, "quantity": 2},
        ]
    }
    rendered = templating.render(template=tpl, profile=person, context=context)
    assert "<li>Rain jacket x1 99.50</li>" in rendered.html
    assert "<li>Boots &amp; socks x2 40.00</li>" in rendered.html
    assert "<p>2</p>" in rendered.html
    # A whole event as context works the same way.
    whole = {"event": "Cart Abandoned", "properties": context}
    assert templating.render(template=tpl, profile=person, context=whole).html == rendered.html


def test_nothing_outside_the_given_data_is_reachable(person):
    tpl = template(
        body_html=(
            "[{{ profile.delete }}][{{ profile.save }}][{{ traits.clear }}][{{ traits.pop }}]"
            "[{{ event.products.pop }}][{{ profile.objects.all }}][{{ settings.SECRET_KEY }}]"
            "[{{ request }}][{{ user }}][{{ profile.traits.email }}]"
        )
    )
    rendered = templating.render(template=tpl, profile=person, context={"products": [{"a": 1}]})
    assert rendered.html.startswith("[][][][][][][][][][ann@example.org]")
    assert Profile.objects.filter(pk=person.pk).exists()
    person.refresh_from_db()
    assert person.traits["email"] == "ann@example.org"


@pytest.mark.parametrize(
    "source",
    [
        "{% debug %}",
        "{% load static %}",
        "{% url 'dashboard' %}",
        "{% include 'base.html' %}",
        "{% autoescape off %}{{ x }}{% endautoescape %}",
        "{{ x|safe }}",
    ],
)
def test_tags_that_reach_outside_or_unescape_are_refused(source):
    with pytest.raises(ValidationError) as raised:
        templating.validate_template(subject="s", body_html=source)
    assert "body_html" in raised.value.message_dict


def test_a_syntax_error_names_the_field_and_the_line():
    with pytest.raises(ValidationError) as raised:
        templating.validate_template(
            subject="ok", body_html="<p>one</p>\n<p>two</p>\n{% if x %}\n<p>no end</p>"
        )
    error = raised.value.message_dict["body_html"][0]
    assert error.startswith("Line "), error
    with pytest.raises(ValidationError) as raised:
        templating.validate_template(subject="{{ a|nosuchfilter }}", body_html="<p>ok</p>")
    assert raised.value.message_dict["subject"][0].startswith("Line 1: ")
    templating.validate_template(
        subject="Hi {{ traits.firstName }}", body_html="{% if traits.vip %}b{% endif %}"
    )


def test_with_a_delivery_links_are_tracked_and_unsubscribe_is_added(person, settings):
    settings.CDP_PUBLIC_URL = "https://cdp.example.com"
    tpl = template(
        body_html=(
            '<html><body><a href="https://shop.example.com/cart?a=1&amp;b=2">Cart</a>'
            '<a href="mailto:help@example.com">Mail</a><a href="#top">Top</a></body></html>'
        )
    )
    delivery = delivery_for(person, tpl)
    rendered = templating.render(template=tpl, profile=person, context={}, delivery=delivery)
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', rendered.html)]
    tracked = [h for h in hrefs if h.startswith("https://cdp.example.com/t/c/")]
    assert len(tracked) == 1
    assert "mailto:help@example.com" in hrefs and "#top" in hrefs
    unsubscribe = [h for h in hrefs if h.startswith("https://cdp.example.com/t/u/")]
    assert len(unsubscribe) == 1
    assert re.search(r'<img src="https://cdp\.example\.com/t/o/[^"]+\.gif"', rendered.html)
    assert rendered.html.index("/t/o/") < rendered.html.index("</body>")
    assert rendered.headers["List-Unsubscribe"] == f"<{unsubscribe[0]}>"
    assert rendered.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[0] in rendered.text
    u = parse_qs(urlparse(tracked[0]).query)["u"][0]
    assert u.startswith("https://shop.example.com/cart?a=1&b=2:")


def test_a_template_placing_its_own_unsubscribe_link_gets_no_second_one(person):
    tpl = template(body_html='<p><a href="{{ unsubscribe_url }}">Stop these</a></p>')
    delivery = delivery_for(person, tpl)
    rendered = templating.render(template=tpl, profile=person, context={}, delivery=delivery)
    assert rendered.html.count("/t/u/") == 1
    assert "/t/c/" not in rendered.html


# --- pages ---


def test_template_pages_by_role(client_as, person):
    tpl = template(name="Cart reminder")
    for role, can_read, can_write in [
        ("Admin", True, True),
        ("Marketer", True, True),
        ("Account manager", False, False),
        ("Viewer", False, False),
    ]:
        client = client_as(role)
        listing = client.get("/campaigns/messages/")
        assert listing.status_code == (200 if can_read else 403), role
        assert client.get(f"/campaigns/messages/{tpl.pk}/").status_code == (
            200 if can_read else 403
        )
        assert client.get("/campaigns/messages/new/").status_code == (200 if can_write else 403)
        saved = client.post(
            f"/campaigns/messages/{tpl.pk}/",
            {
                "name": f"By {role}",
                "subject": "Hi",
                "body_html": "<p>x</p>",
                "body_text": "",
            },
        )
        assert saved.status_code == (302 if can_write else 403), role
        client.logout()


def test_saving_a_template_with_a_syntax_error_shows_it_inline(client_as):
    client = client_as("Marketer")
    response = client.post(
        "/campaigns/messages/new/",
        {
            "name": "Broken",
            "subject": "Hi",
            "body_html": "<p>a</p>\n{% for x in y %}\n<p>b</p>",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="error"' in body and "Line " in body and "endfor" in body
    assert not MessageTemplate.objects.filter(name="Broken").exists()
    created = client.post(
        "/campaigns/messages/new/",
        {
            "name": "Fine",
            "subject": "Hi {{ traits.firstName }}",
            "body_html": "<p>ok</p>",
        },
    )
    assert created.status_code == 302
    assert MessageTemplate.objects.filter(name="Fine").exists()


def test_preview_as_a_profile_found_by_email_or_id(client_as, person):
    # Marketers granted to see personal data: the traits in clear, as this test reads
    # (what masking does: tests/privacy/test_pii_masking.py).
    personal_data.set_personal_data_roles(roles=["Marketer"])
    tpl = template(body_html="<p>{{ traits.firstName }}: {{ event.products.0.name }}</p>")
    client = client_as("Marketer")
    context = '{"properties": {"products": [{"name": "Boots"}]}}'
    for query in ("ANN@example.org", str(person.pk)):
        response = client.get(
            f"/campaigns/messages/{tpl.pk}/preview/",
            {"preview-profile": query, "preview-context": context},
        )
        assert response.status_code == 200
        body = response.content.decode()
        # The preview sits in a sandboxed iframe's srcdoc, escaped once more.
        assert "sandbox" in body and "&amp;lt;script&amp;gt;" in body and "Boots" in body
    missing = client.get(f"/campaigns/messages/{tpl.pk}/preview/", {"preview-profile": "x@nowhere"})
    assert "No profile" in missing.content.decode()
    bad = client.get(f"/campaigns/messages/{tpl.pk}/preview/", {"preview-context": "[1"})
    assert "Not valid JSON" in bad.content.decode()


def test_send_a_test_to_me_through_an_smtp_destination(client_as, person, smtp_inbox, settings):
    # Marketers granted to see personal data: the traits in clear, as this test reads
    # (what masking does: tests/privacy/test_pii_masking.py).
    personal_data.set_personal_data_roles(roles=["Marketer"])
    destination = create_destination(
        name="Mail",
        kind=Destination.Kind.SMTP,
        config={
            "host": "127.0.0.1",
            "port": settings.EMAIL_PORT,
            "starttls": False,
            "from_email": "shop@example.com",
        },
    )
    tpl = template(subject="Hello {{ traits.firstName }}", body_html="<p>Hi</p>")
    client = client_as("Marketer")
    response = client.post(
        f"/campaigns/messages/{tpl.pk}/test/",
        {
            "test-destination": destination.pk,
            "test-profile": str(person.pk),
            "test-context": "{}",
        },
    )
    assert response.status_code == 200
    assert "Test sent to marketer@example.org" in response.content.decode()
    assert len(smtp_inbox.messages) == 1
    sent = smtp_inbox.messages[0]
    assert sent["To"] == "marketer@example.org"
    assert sent["Subject"].startswith("[Test] Hello")
    viewer = client_as("Viewer")
    assert viewer.post(f"/campaigns/messages/{tpl.pk}/test/", {}).status_code == 403
