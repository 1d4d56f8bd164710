"""Tracking links: the open pixel, click redirects only to signed URLs, unsubscribe."""

import html
import re
from urllib.parse import urlencode, urlparse

import pytest
from django.core import signing

from campaigns import templating, tracking
from campaigns.models import Campaign, Delivery, MessageTemplate
from profiles.consent import may_use
from profiles.models import ConsentRecord
from tests.campaigns import conftest
from tests.profiles.conftest import send, web  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(web, send):  # noqa: F811
    return conftest.person(send, web, "ann")


@pytest.fixture
def delivery(person):
    campaign = Campaign.objects.create(name="C", kind=Campaign.Kind.EVENT)
    tpl = MessageTemplate.objects.create(
        name="T", subject="Hi", body_html='<a href="https://shop.example.com/x?y=1">Go</a>'
    )
    return Delivery.objects.create(
        idempotency_key="k-1",
        campaign=campaign,
        profile_id=person.pk,
        step_id="s1",
        channel=Delivery.Channel.EMAIL,
        template=tpl,
        status=Delivery.Status.SENT,
    )


def path_of(url):
    parsed = urlparse(url)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


def links_in(delivery, person):
    rendered = templating.render(
        template=delivery.template, profile=person, context={}, delivery=delivery
    )
    return [html.unescape(h) for h in re.findall(r'(?:href|src)="([^"]*)"', rendered.html)]


def test_the_pixel_marks_the_first_open_only(client, delivery, person):
    pixel = next(u for u in links_in(delivery, person) if "/t/o/" in u)
    response = client.get(path_of(pixel))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    assert "no-store" in response["Cache-Control"]
    delivery.refresh_from_db()
    first = delivery.opened_at
    assert first is not None
    assert client.get(path_of(pixel)).status_code == 200
    delivery.refresh_from_db()
    assert delivery.opened_at == first


def test_a_click_redirects_to_the_signed_url_and_marks_click_and_open(client, delivery, person):
    link = next(u for u in links_in(delivery, person) if "/t/c/" in u)
    response = client.get(path_of(link))
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/x?y=1"
    delivery.refresh_from_db()
    assert delivery.clicked_at is not None and delivery.opened_at is not None


def test_click_refuses_unsigned_altered_or_borrowed_urls(client, delivery, person):
    link = next(u for u in links_in(delivery, person) if "/t/c/" in u)
    token = urlparse(link).path.rsplit("/", 1)[1]
    signed = tracking.sign_url(delivery.pk, "https://shop.example.com/x?y=1")
    bad = [
        {},  # no target at all
        {"u": "https://evil.example.net/"},  # unsigned
        {"u": signed.replace("shop.example.com", "evil.example.net")},  # altered
        {"u": tracking.sign_url(delivery.pk + 1, "https://evil.example.net/")},  # other message
        {"u": tracking.sign_url(delivery.pk, "javascript:alert(1)")},  # not a web link
    ]
    for query in bad:
        response = client.get(f"/t/c/{token}?{urlencode(query)}")
        assert response.status_code == 400, query
        assert "Location" not in response
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/t/c/{tampered}?{urlencode({'u': signed})}").status_code == 400
    assert client.get("/t/o/123:abc.gif").status_code == 400
    # A pixel token is not a click or unsubscribe token (each has its own salt).
    open_token = tracking.make_token(delivery.pk, tracking.OPEN_SALT)
    assert client.get(f"/t/c/{open_token}?{urlencode({'u': signed})}").status_code == 400
    assert client.post(f"/t/u/{open_token}").status_code == 400
    delivery.refresh_from_db()
    assert delivery.clicked_at is None


def test_unsubscribe_page_asks_then_records_withdrawn_consent(client, delivery, person):
    assert may_use(person, "email_marketing")
    link = next(u for u in links_in(delivery, person) if "/t/u/" in u)
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert b'<form method="post"' in page.content
    person.refresh_from_db()
    assert may_use(person, "email_marketing")  # a GET (link scanners) changes nothing

    client_with_csrf = client
    client_with_csrf.handler.enforce_csrf_checks = True
    done = client_with_csrf.post(path_of(link))
    assert done.status_code == 200 and b"You are unsubscribed" in done.content
    person.refresh_from_db()
    assert not may_use(person, "email_marketing")
    record = ConsentRecord.objects.filter(profile=person).latest("recorded_at", "id")
    assert record.status == "withdrawn"
    assert record.evidence == {"delivery": delivery.pk, "via": "unsubscribe link"}


def test_one_click_unsubscribe_from_the_mail_provider(client, delivery, person):
    client.handler.enforce_csrf_checks = True
    rendered = templating.render(
        template=delivery.template, profile=person, context={}, delivery=delivery
    )
    url = rendered.headers["List-Unsubscribe"].strip("<>")
    response = client.post(path_of(url), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    person.refresh_from_db()
    assert not may_use(person, "email_marketing")
    # Repeated by the provider: no second statement.
    count = ConsentRecord.objects.filter(profile=person).count()
    assert client.post(path_of(url), {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert ConsentRecord.objects.filter(profile=person).count() == count


def test_a_bad_unsubscribe_token_is_refused(client, delivery):
    assert client.get("/t/u/1:nope").status_code == 400
    assert client.post("/t/u/1:nope").status_code == 400


def test_links_are_signed_exactly_as_djangos_signer_signs_them():

    for salt in (tracking.OPEN_SALT, tracking.CLICK_SALT, tracking.UNSUBSCRIBE_SALT):
        token = tracking.make_token(42, salt)
        assert token == signing.Signer(salt=salt).sign("42")
        assert tracking.read_token(token, salt) == 42
    url = "https://shop.example.org/p/1?a=b&c=é"
    signed = tracking.sign_url(42, url)
    assert signed == signing.Signer(salt=f"{tracking.URL_SALT}.42").sign(url)
    assert tracking.read_url(42, signed) == url
    with pytest.raises(tracking.BadToken):
        tracking.read_url(43, signed)  # another delivery's link
