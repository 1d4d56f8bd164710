"""The demo mailbox in real Chromium: a message the product's SMTP sender sent to the demo
mailbox is listed, and opened shows its HTML (in a sandboxed frame, its script not run),
its text part and its headers."""

import pytest
from playwright.sync_api import expect

from cdp_site import services as site_services
from cdp_site.dev.embedded import any_free_port
from cdp_site.permissions import VIEWER
from demo import mailbox
from integrations.destinations import smtp
from tests.conftest import PASSWORD

WAIT = 15_000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_mailbox(settings, tmp_path):
    settings.CDP_MODE = "demo"
    settings.VAR_DIR = tmp_path
    port = any_free_port()
    server = mailbox.start(port=port)
    yield mailbox.ensure_destination(port=port)
    server.stop()


def test_anyone_signed_in_reads_the_demo_mailbox(page, log_in, live_server, demo_mailbox):
    smtp.send_email(
        demo_mailbox,
        to="ada@example.org",
        subject="You left something in your cart",
        html='<h1 id="inside">Your cart</h1><p>Boots × 1</p>'
        '<script>document.title = "ran"</script>',
        text="Your cart: Boots x 1",
    )
    site_services.create_user(email="vic@example.org", role=VIEWER, password=PASSWORD)
    log_in("vic@example.org", PASSWORD)
    page.get_by_role("link", name="Demo mailbox").click()
    expect(page.get_by_role("heading", name="Demo mailbox", level=1)).to_be_visible()
    page.get_by_role("link", name="You left something in your cart").click()

    expect(page.get_by_role("heading", name="You left something in your cart")).to_be_visible()
    frame = page.frame_locator("iframe.mailbox-html")
    expect(frame.locator("#inside")).to_have_text("Your cart", timeout=WAIT)
    expect(frame.locator("body")).to_contain_text("Boots × 1")
    assert page.locator("iframe.mailbox-html").get_attribute("sandbox") == (
        "allow-popups allow-popups-to-escape-sandbox"
    )
    inner = page.frames[1]
    assert inner.title() != "ran"  # the sandbox runs no script
    expect(page.locator(".mailbox-text")).to_have_text("Your cart: Boots x 1")
    headers = page.locator(".mailbox-headers")
    expect(headers).to_contain_text("X-Demo-Envelope-To")
    expect(headers).to_contain_text("ada@example.org")
