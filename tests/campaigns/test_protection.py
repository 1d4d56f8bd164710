"""Frequency caps and quiet hours per channel: set on the protection page or through the
API (marketers and admins), shown on the campaign page, and honoured by the engine as
saved: e-mails to a real SMTP server, webhooks to a local HTTP server."""

from datetime import timedelta

import pytest

from campaigns.models import ActivationSettings, Delivery, Enrollment
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from tests.campaigns.conftest import at, campaign, person, pump, track

pytestmark = pytest.mark.django_db
URL = "/campaigns/protection/"
API = "/api/v1/campaigns/protection/"


def form(**overrides) -> dict:
    """The page's fields as a person leaves them: e-mail's default cap, webhooks free."""
    fields = {
        "time_zone": "UTC",
        "email-max_messages": "3",
        "email-per_days": "7",
        "email-quiet_start": "",
        "email-quiet_end": "",
        "webhook-max_messages": "",
        "webhook-per_days": "7",
        "webhook-quiet_start": "",
        "webhook-quiet_end": "",
    }
    return {**fields, **overrides}


def quiet_window() -> tuple[str, str, object]:
    """Quiet hours (UTC) around the tests' clock, and when they end."""
    now = at(0)
    start, end = (now - timedelta(hours=1)).replace(minute=0), (now + timedelta(hours=2))
    end = end.replace(minute=0, second=0)
    return f"{start:%H:%M}", f"{end:%H:%M}", end


def test_a_cap_saved_on_the_page_skips_that_channel_past_it_and_no_other(
    send, web, smtp, template, webhook, client_as
):
    response = client_as(MARKETER).post(URL, form(**{"email-max_messages": "1"}))
    assert response.status_code == 302
    mail = [
        {"id": "mail", "type": "send_email", "template_id": template.pk, "destination_id": smtp.pk}
    ]
    hook = [{"id": "hook", "type": "webhook", "destination_id": webhook.pk}]
    for steps in (mail, mail, hook, hook):
        campaign(steps, trigger_event="Checkout Started")
    person(send, web, "ann")
    track(send, web, "ann", "Checkout Started", 0)
    pump(0)

    outcomes = sorted(Delivery.objects.values_list("channel", "status", "reason"))
    assert outcomes == [
        ("email", "sent", ""),
        ("email", "skipped", "frequency cap"),
        ("webhook", "sent", ""),
        ("webhook", "sent", ""),
    ]
    assert len(smtp.inbox.messages) == 1 and len(webhook.server.received) == 2


def test_quiet_hours_saved_for_webhooks_hold_them_and_leave_e_mail_alone(
    send, web, smtp, template, webhook, client_as
):
    start, end, quiet_end = quiet_window()
    saved = client_as(ADMIN).post(
        URL, form(**{"webhook-quiet_start": start, "webhook-quiet_end": end})
    )
    assert saved.status_code == 302
    hook = campaign(
        [{"id": "hook", "type": "webhook", "destination_id": webhook.pk}], trigger_event="Signed Up"
    )
    campaign(
        [
            {
                "id": "mail",
                "type": "send_email",
                "template_id": template.pk,
                "destination_id": smtp.pk,
            }
        ],
        trigger_event="Signed Up",
    )
    person(send, web, "ann")
    track(send, web, "ann", "Signed Up", 0)
    pump(0)

    held = Enrollment.objects.get(campaign=hook)
    assert (held.state, held.step_id, held.wake_at) == ("active", "hook", quiet_end)
    assert list(Delivery.objects.values_list("channel", "status")) == [("email", "sent")]
    assert webhook.server.received == []
    pump((quiet_end - at(0)).total_seconds() / 60)
    assert Delivery.objects.get(channel="webhook").status == "sent"
    assert len(webhook.server.received) == 1


def test_the_page_shows_each_channels_rules_and_the_campaign_page_its_own(
    smtp, template, client_as
):
    client = client_as(MARKETER)
    assert 'href="/campaigns/protection/"' in client.get("/campaigns/").text
    page = client.get(URL).text
    assert "Now: at most 3 per person in 7 days; no quiet hours." in page  # e-mail's default
    assert "Now: no frequency cap; no quiet hours." in page  # webhooks'
    client.post(
        URL,
        form(
            **{
                "email-quiet_start": "21:00",
                "email-quiet_end": "08:00",
                "time_zone": "Europe/Paris",
            }
        ),
    )
    journey = campaign(
        [
            {
                "id": "mail",
                "type": "send_email",
                "template_id": template.pk,
                "destination_id": smtp.pk,
            }
        ],
        start=False,
        trigger_event="X",
    )
    detail = client.get(f"/campaigns/{journey.pk}/").text
    assert (
        "Protection:</strong>\n    E-mail: at most 3 per person in 7 days; quiet hours "
        "21:00–08:00 (Europe/Paris)"
    ) in detail
    assert "Webhook" not in detail.split("Protection:")[1].split("</p>")[0]


def test_mistakes_are_refused_at_their_field_and_nothing_is_saved(client_as):
    client = client_as(MARKETER)
    response = client.post(
        URL,
        form(
            **{"email-quiet_start": "21:00", "webhook-per_days": "0", "time_zone": "Mars/Olympus"}
        ),
    )
    assert response.status_code == 400
    text = response.text
    assert 'id="id_time_zone_error"' in text
    assert 'id="id_webhook-per_days_error"' in text
    assert client.get(API).json()["time_zone"] == "UTC"
    both = client.post(URL, form(**{"email-quiet_start": "21:00"}))
    assert both.status_code == 400
    assert "Give both ends of the quiet hours, or neither." in both.text
    assert 'id="id_email-quiet_end_error"' in both.text
    assert client.get(API).json()["channels"]["email"]["quiet_start"] is None


def test_the_api_reads_and_changes_the_same_rules_with_errors_at_their_field(client_as):
    client = client_as(MARKETER)
    body = client.get(API).json()
    assert body == {
        "time_zone": "UTC",
        "channels": {
            "email": {"max_messages": 3, "per_days": 7, "quiet_start": None, "quiet_end": None},
            "webhook": {
                "max_messages": None,
                "per_days": 7,
                "quiet_start": None,
                "quiet_end": None,
            },
            "sms": {"max_messages": 3, "per_days": 7, "quiet_start": None, "quiet_end": None},
        },
    }
    webhook = {"max_messages": 2, "per_days": 1, "quiet_start": "22:00", "quiet_end": "07:30"}
    change = {"time_zone": "Europe/Paris", "channels": {"webhook": webhook}}
    saved = client.put(API, change, content_type="application/json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["channels"]["webhook"]["quiet_end"] == "07:30"
    assert client.get(API).json()["channels"]["email"]["max_messages"] == 3  # left as it was
    page = client.get(URL).text
    assert "Now: at most 2 per person in 1 day; quiet hours 22:00–07:30 (Europe/Paris)." in page
    bad = {
        "time_zone": "UTC",
        "channels": {
            "email": {"max_messages": 1, "per_days": 7, "quiet_start": "21:00", "quiet_end": None},
            "pigeon": {"max_messages": 1, "per_days": 1, "quiet_start": None, "quiet_end": None},
        },
    }
    refused = client.put(API, bad, content_type="application/json")
    assert refused.status_code == 400
    fields = refused.json()["error"]["fields"]
    assert set(fields) == {"channels.email.quiet_end", "channels.pigeon"}


def test_only_marketers_and_admins_change_the_rules(client_as):
    roles = [
        (ADMIN, True, True),
        (MARKETER, True, True),
        (ACCOUNT_MANAGER, False, False),
        (VIEWER, False, False),
    ]
    for role, reads, writes in roles:
        client = client_as(role)
        assert (client.get(URL).status_code == 200) is reads, role
        assert (client.post(URL, form()).status_code == 302) is writes, role
        assert (client.get(API).status_code == 200) is reads, role
        client.logout()
    assert ActivationSettings.load().time_zone == "UTC"
