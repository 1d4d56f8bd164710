"""The demo mailbox (demo/mailbox.py): a local SMTP server that keeps what the product
sends, its pages (demo mode only), and the demo's journeys sending to it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import gallery, results, runner, triggers
from campaigns.models import Campaign
from cdp_site.dev.embedded import any_free_port
from cdp_site.permissions import VIEWER
from demo import campaign_setup, mailbox
from demo.load import load_demo_data
from integrations.destinations import smtp
from tests.profiles.conftest import drain

HTML = '<p>Hi Ada,</p><p>Your <b>boots</b> wait.</p><script>alert("x")</script>'


@pytest.fixture
def demo_var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def running(demo_var):
    port = any_free_port()
    server = mailbox.start(port=port)
    yield port
    server.stop()


def _send(destination, subject="Your cart is waiting"):
    return smtp.send_email(
        destination,
        to="ada@example.org",
        subject=subject,
        html=HTML,
        text="Hi Ada, your boots wait.",
        headers={"List-Unsubscribe": "<https://shop.example/u/1>"},
    )


@pytest.mark.django_db
def test_the_mailbox_keeps_what_the_products_smtp_sender_sends(running, demo_var):
    destination = mailbox.ensure_destination(port=running)
    message_id = _send(destination)
    kept, total = mailbox.latest()
    assert total == 1 and kept[0].subject == "Your cart is waiting"
    assert kept[0].to == "ada@example.org" and "hello@trailhead.example" in kept[0].sender
    message = mailbox.read(kept[0].id)
    assert "<b>boots</b>" in message.html and message.text.strip() == "Hi Ada, your boots wait."
    headers = dict(message.headers)
    assert headers["Message-ID"] == message_id
    assert headers["X-Demo-Envelope-To"] == "ada@example.org"
    assert list((demo_var / "demo" / "mailbox").glob("*.eml")) != []


@pytest.mark.django_db
def test_the_mailbox_survives_a_restart_and_keeps_only_the_newest(demo_var):
    port = any_free_port()
    server = mailbox.start(port=port)
    destination = mailbox.ensure_destination(port=port)
    for n in range(3):
        _send(destination, subject=f"Message {n}")
    server.stop()
    other = any_free_port()
    server = mailbox.start(port=other)
    try:
        assert mailbox.ensure_destination(port=other).pk == destination.pk
        destination.refresh_from_db()  # now on the other port
        _send(destination, subject="After the restart")
    finally:
        server.stop()
    kept, total = mailbox.latest()
    assert total == 4 and [m.subject for m in kept][:2] == ["After the restart", "Message 2"]
    assert mailbox.trim(demo_var / "demo" / "mailbox", 2) == 2
    assert [m.subject for m in mailbox.latest()[0]] == ["After the restart", "Message 2"]


@pytest.mark.django_db
def test_the_pages_list_and_render_a_message_for_any_role_in_demo_mode(
    running, client_as, settings
):
    settings.CDP_MODE = "demo"
    _send(mailbox.ensure_destination(port=running))
    client = client_as(VIEWER)
    listing = client.get(reverse("demo:mailbox")).content.decode()
    assert "Your cart is waiting" in listing and "Demo mailbox" in listing
    (kept,), _ = mailbox.latest()
    page = client.get(reverse("demo:mailbox-message", args=[kept.id]))
    html = page.content.decode()
    assert page.status_code == 200
    # The HTML is escaped into a sandboxed frame's srcdoc: its script never runs here.
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html
    assert 'srcdoc="&lt;base target=&quot;_blank&quot;&gt;&lt;p&gt;Hi Ada' in html
    assert "<script>alert" not in html
    assert "Hi Ada, your boots wait." in html and "List-Unsubscribe" in html


@pytest.mark.django_db
def test_the_pages_are_404_outside_demo_mode_and_for_unknown_ids(running, client_as, settings):
    _send(mailbox.ensure_destination(port=running))
    (kept,), _ = mailbox.latest()
    client = client_as(VIEWER)
    settings.CDP_MODE = "production"
    assert client.get(reverse("demo:mailbox")).status_code == 404
    assert client.get(reverse("demo:mailbox-message", args=[kept.id])).status_code == 404
    settings.CDP_MODE = "demo"
    for wrong in ("0" * 19 + "-" + "f" * 32, "..%2F..%2Fsecret_key", "nothing"):
        assert client.get(f"/demo/mailbox/{wrong}/").status_code == 404


@pytest.mark.django_db
def test_the_demo_journeys_are_the_gallerys_started_on_demo_time(demo_var):
    made = campaign_setup.ensure_demo_journeys(mailbox_port=2599)
    assert {c.gallery_key for c in made} == set(gallery.BY_KEY)
    assert {c.status for c in Campaign.objects.all()} == {Campaign.Status.ACTIVE}
    cart = Campaign.objects.get(gallery_key="cart-abandonment")
    assert [s["id"] for s in cart.steps] == ["await-order", "ordered", "reminder"]
    assert cart.steps[0]["timeout_minutes"] == 1
    destination = mailbox.ensure_destination(port=2599)
    assert cart.steps[2]["destination_id"] == destination.pk
    assert campaign_setup.ensure_demo_journeys(mailbox_port=2599) == []


@pytest.mark.django_db(transaction=True)
def test_the_demo_load_fills_the_mailbox_with_cart_and_welcome_emails(live_server, running):
    campaign_setup.ensure_demo_journeys(mailbox_port=running)
    load_demo_data(url=live_server.url, customers=40, seed=3)
    drain()  # what the worker does as the events arrive
    for minutes in (0, 2):
        triggers.read_all()
        runner.run(now=timezone.now() + timedelta(minutes=minutes))
    subjects = {m.subject for m in mailbox.latest()[0]}
    assert "You left something in your cart" in subjects
    assert any(s.startswith("Your download") for s in subjects)
    cart = Campaign.objects.get(gallery_key="cart-abandonment")
    numbers = results.campaign_results(cart)
    assert numbers["entered"] > 0 and numbers["deliveries"]["sent"] > 0
