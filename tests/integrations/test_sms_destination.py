"""The SMS destination (a Twilio-compatible API, imitated by a real local server): its
settings checked at the field, its connection test, a send and its refusals, and the
X-Twilio-Signature scheme checked against Twilio's own published examples."""

import pytest

from cdp_site.permissions import ADMIN
from integrations.destinations import adapters, sms
from integrations.destinations.adapters import DestinationError
from integrations.destinations.models import Destination
from tests.support import twilio as imitation

pytestmark = pytest.mark.django_db
NEW = "/integrations/destinations/new/?kind=sms"


def texts(twilio, *, token=imitation.TOKEN) -> Destination:
    return imitation.destination(twilio, token=token, default_region="GB")


def test_the_signature_is_twilios_for_its_published_examples():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    assert sms.signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert sms.signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_a_send_posts_the_form_with_basic_auth_and_returns_the_sid(twilio):
    destination = texts(twilio)
    sid = adapters.send_sms(
        destination, to="07400 123456", body="Hello", status_callback="https://x.example/cb"
    )
    (sent,) = twilio.messages
    assert sid == sent["sid"]
    assert sent["To"] == "+447400123456"  # a UK mobile without its country code
    assert (sent["From"], sent["Body"]) == ("+14155550100", "Hello")
    assert sent["StatusCallback"] == "https://x.example/cb"


def test_an_unreadable_number_is_refused_before_any_request(twilio):
    destination = texts(twilio)
    with pytest.raises(DestinationError) as refused:
        adapters.send_sms(destination, to="call me", body="Hello")
    assert not refused.value.retryable
    assert "not a valid number (read as GB" in refused.value.message
    assert twilio.messages == [] and twilio.refused == []


def test_refusals_say_the_providers_code_and_whether_to_retry(twilio):
    destination = texts(twilio)
    twilio.unreachable.add("+447400123456")
    twilio.script.extend([429, 500])
    outcomes = []
    for _ in range(3):
        with pytest.raises(DestinationError) as refused:
            adapters.send_sms(destination, to="+447400123456", body="Hello")
        error = refused.value
        outcomes.append((error.retryable, error.retry_after, error.message))
    assert outcomes == [
        (True, 7.0, "HTTP 429: error 20429: Too Many Requests"),
        (True, None, "HTTP 500: error 20500: Internal Server Error"),
        (False, None, "the provider refused the To number (error 21211: "
                      "Invalid 'To' Phone Number: +447400123456)"),
    ]  # fmt: skip


def test_the_connection_test_reads_the_account_with_the_token(twilio):
    assert adapters.test_connection(texts(twilio)) == (
        True,
        "The account answered: SID and token accepted.",
    )
    ok, message = adapters.test_connection(texts(twilio, token="wrong-token-000"))
    assert not ok and message == "HTTP 401: error 20003: Authenticate"


def test_the_form_refuses_a_from_number_and_region_it_cannot_read(client_as, twilio):
    client = client_as(ADMIN)
    page = client.get(NEW).content.decode()
    assert 'name="config__account_sid"' in page and 'name="secret__auth_token"' in page
    response = client.post(
        NEW,
        {
            "kind": "sms",
            "name": "Texts",
            "enabled": "on",
            "config__base_url": twilio.base_url,
            "config__account_sid": imitation.SID,
            "config__from_number": "0800 123",
            "config__default_region": "XX",
            "secret__auth_token": imitation.TOKEN,
        },
    )
    assert response.status_code in (200, 400)
    text = response.content.decode()
    assert "Give the number in E.164, e.g. +14155550100." in text
    assert "&quot;XX&quot; is not a country code such as US, GB or NL." in text
    assert not Destination.objects.exists()
