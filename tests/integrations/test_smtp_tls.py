"""SMTP credentials travel only over TLS: against real aiosmtpd servers that offer AUTH
in clear text, STARTTLS, or TLS from the start (certificates from a test CA)."""

import pytest
from aiosmtpd.smtp import AuthResult

from cdp_site.permissions import ADMIN
from integrations.destinations import adapters, services
from integrations.destinations.adapters import DestinationError
from integrations.destinations.models import Destination
from tests.support.smtp import Inbox, smtp_server
from tests.support.tls import make_certificates

pytestmark = pytest.mark.django_db

PASSWORD = "pw-0123456789"


class Accounts:
    """An authenticator that records every login attempt (and accepts shop/PASSWORD)."""

    def __init__(self):
        self.attempts = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.attempts.append((mechanism, auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (b"shop", PASSWORD.encode())
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def certificates(tmp_path, monkeypatch):
    made = make_certificates(tmp_path / "tls", host="localhost")
    # The client's default context (system CAs) trusts this test CA as well.
    monkeypatch.setenv("SSL_CERT_FILE", str(made.ca_file))
    return made


def mail_destination(port: int, **config) -> Destination:
    return services.create_destination(
        name="Mail",
        kind="smtp",
        config={
            "host": "localhost",
            "port": port,
            "from_email": "shop@example.org",
            "username": "shop",
            "timeout": 5,
            **config,
        },
        secrets={"password": PASSWORD},
    )


def send(destination):
    return adapters.send_email(destination, to="ann@example.org", subject="s", html="", text="t")


def test_credentials_are_not_sent_to_a_server_offering_auth_in_clear_text():
    accounts, inbox = Accounts(), Inbox()
    with smtp_server(inbox, authenticator=accounts, auth_require_tls=False) as port:
        destination = mail_destination(port, starttls=False)
        with pytest.raises(DestinationError) as refused:
            send(destination)
        assert "without TLS" in refused.value.message
        assert refused.value.retryable is False
        ok, message = services.record_test(destination=destination)
    assert not ok and "without TLS" in message
    assert accounts.attempts == []
    assert inbox.messages == []


def test_starttls_asked_for_but_not_offered_sends_no_credentials():
    accounts, inbox = Accounts(), Inbox()
    with smtp_server(inbox, authenticator=accounts, auth_require_tls=False) as port:
        destination = mail_destination(port, starttls=True)
        with pytest.raises(DestinationError, match="does not support"):
            send(destination)
    assert accounts.attempts == []


def test_login_and_delivery_over_starttls(certificates):
    accounts, inbox = Accounts(), Inbox()
    context = certificates.server_context()
    with smtp_server(inbox, authenticator=accounts, tls_context=context) as port:
        send(mail_destination(port, starttls=True))
    assert accounts.attempts and accounts.attempts[-1][1:] == (b"shop", PASSWORD.encode())
    assert len(inbox.messages) == 1


def test_login_and_delivery_over_tls_from_the_start(certificates):
    accounts, inbox = Accounts(), Inbox()
    context = certificates.server_context()
    # aiosmtpd counts only STARTTLS as TLS when it offers AUTH: told not to care here.
    options = {"ssl_context": context, "auth_require_tls": False}
    with smtp_server(inbox, authenticator=accounts, **options) as port:
        destination = mail_destination(port, starttls=False, tls=True)
        ok, message = services.record_test(destination=destination)
        assert ok, message
        send(destination)
    assert accounts.attempts[-1][1:] == (b"shop", PASSWORD.encode())
    assert len(inbox.messages) == 1


NEW_SMTP = "/integrations/destinations/new/?kind=smtp"


def smtp_form(**fields):
    return {
        "kind": "smtp",
        "name": "Mail",
        "enabled": "on",
        "config__host": "smtp.example",
        "config__port": "587",
        "config__from_email": "shop@example.org",
        "config__username": "shop",
        "secret__password": PASSWORD,
        **fields,
    }


def test_the_form_refuses_a_user_name_without_tls(client_as):
    client = client_as(ADMIN)
    refused = client.post(NEW_SMTP, smtp_form())  # no starttls, no tls: unchecked boxes
    assert refused.status_code == 200
    assert "sent only over TLS" in refused.context["form"].errors["config__starttls"][0]
    both = client.post(NEW_SMTP, smtp_form(config__starttls="on", config__tls="on"))
    assert "not both" in both.context["form"].errors["config__tls"][0]
    assert not Destination.objects.exists()
    assert client.post(NEW_SMTP, smtp_form(config__starttls="on")).status_code == 302
    without_login = smtp_form(config__username="", secret__password="")
    assert client.post(NEW_SMTP, without_login).status_code == 302  # a local relay


def test_the_api_refuses_a_user_name_without_tls(client_as):
    refused = client_as(ADMIN).post(
        "/api/v1/destinations/",
        {
            "name": "Mail",
            "kind": "smtp",
            "config": {
                "host": "smtp.example",
                "from_email": "a@b.c",
                "username": "shop",
                "starttls": False,
            },
            "secrets": {"password": PASSWORD},
        },
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "sent only over TLS" in refused.json()["error"]["fields"]["config.starttls"][0]
