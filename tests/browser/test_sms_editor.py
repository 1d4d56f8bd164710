"""The message editor in real Chromium: choosing SMS hides the e-mail fields and shows
the text's length as it is typed, its characters, encoding and segments (UCS-2 as soon
as one character is outside the GSM alphabet); the message saves as an SMS."""

import pytest
from playwright.sync_api import expect

from campaigns.models import MessageTemplate
from cdp_site import services as site_services
from cdp_site.permissions import MARKETER
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_sms_editor_counts_characters_and_segments_as_the_text_is_typed(
    page, log_in, live_server
):
    site_services.create_user(email="mia@example.org", role=MARKETER, password=PASSWORD)
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/campaigns/messages/new/")
    counter = page.locator("#sms-count")
    expect(counter).to_be_hidden()
    expect(page.get_by_label("Subject")).to_be_visible()

    page.get_by_label("Channel").select_option("sms")
    expect(page.get_by_label("Subject")).to_be_hidden()
    expect(page.get_by_label("HTML body")).to_be_hidden()
    text = page.get_by_label("Text message")
    text.fill("Hi {{ traits.firstName }}, your cart is waiting")
    expect(counter).to_have_text("47 characters · GSM-7 · 1 segment")
    text.fill("a" * 161)
    expect(counter).to_have_text("161 characters · GSM-7 · 2 segments")
    text.press_sequentially("ł")  # outside the GSM alphabet: the whole text is UCS-2
    expect(counter).to_have_text("162 characters · UCS-2 · 3 segments")

    text.fill("Your code is ready ✓")
    page.get_by_label("Name").fill("Ready text")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Ready text", level=1)).to_be_visible()
    made = MessageTemplate.objects.get(name="Ready text")
    assert (made.channel, made.body_text, made.subject) == ("sms", "Your code is ready ✓", "")
    expect(page.locator("#sms-count")).to_have_text("20 characters · UCS-2 · 1 segment")
