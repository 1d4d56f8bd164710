"""One e-mail over an open SMTP connection (integrations/destinations/smtp.py, send_one)
against a real aiosmtpd server that refuses some senders and recipients: the same
envelope and the same errors as smtplib's sendmail, and the connection stays usable."""

import smtplib

import pytest

from integrations.destinations.smtp import NotReady, send_one
from tests.support.smtp import smtp_server

PAYLOAD = b"Subject: hi\r\n\r\n.a line starting with a dot\r\nbye\r\n"


class Picky:
    def __init__(self):
        self.envelopes = []

    async def handle_MAIL(self, server, session, envelope, address, options):  # noqa: N802
        if address.startswith("blocked@"):
            return "550 sender refused"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address.startswith("gone@"):
            return "550 no such user"
        if address.startswith("busy@"):
            return "451 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.content,
                list(envelope.mail_options),
            )
        )
        return "250 OK"


@pytest.fixture
def server():
    handler = Picky()
    with smtp_server(handler) as port:
        yield handler, port


def test_the_envelope_and_body_are_what_smtplib_sends(server):
    handler, port = server
    with smtplib.SMTP("127.0.0.1", port) as connection:
        send_one(connection, "shop@example.org", "ann@example.org", PAYLOAD)
        connection.sendmail("shop@example.org", ["ann@example.org"], PAYLOAD)
    ours, smtplibs = handler.envelopes
    assert ours[:3] == smtplibs[:3]
    assert ours[0] == "shop@example.org" and ours[1] == ["ann@example.org"]
    assert b"\r\n.a line starting with a dot" in ours[2]  # dot-stuffing undone by the server
    assert ours[3] == [f"SIZE={len(PAYLOAD)}"]


@pytest.mark.parametrize(("to", "code"), [("gone@example.org", 550), ("busy@example.org", 451)])
def test_a_refused_recipient_raises_like_smtplib_and_the_connection_goes_on(server, to, code):
    handler, port = server
    with smtplib.SMTP("127.0.0.1", port) as connection:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send_one(connection, "shop@example.org", to, PAYLOAD)
        assert refused.value.recipients[to][0] == code
        send_one(connection, "shop@example.org", "ann@example.org", PAYLOAD)
    assert [e[1] for e in handler.envelopes] == [["ann@example.org"]]


def test_a_refused_sender_raises_like_smtplib(server):
    _, port = server
    with smtplib.SMTP("127.0.0.1", port) as connection:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            send_one(connection, "blocked@example.org", "ann@example.org", PAYLOAD)
        assert refused.value.smtp_code == 550


def test_an_address_that_needs_quoting_goes_through_smtplib(server):
    handler, port = server
    with smtplib.SMTP("127.0.0.1", port) as connection:
        send_one(connection, "shop@example.org", '"ann smith"@example.org', PAYLOAD)
    assert handler.envelopes[0][1] == ['"ann smith"@example.org']


@pytest.mark.parametrize("to", ["ann@example.org", '"ann smith"@example.org'])
def test_a_ready_that_says_no_sends_nothing_and_the_connection_goes_on(server, to):
    handler, port = server
    asked = []
    with smtplib.SMTP("127.0.0.1", port) as connection:
        with pytest.raises(NotReady):
            send_one(
                connection, "shop@example.org", to, PAYLOAD, ready=lambda: asked.append(to) or False
            )
        send_one(connection, "shop@example.org", "bob@example.org", PAYLOAD, ready=lambda: True)
    assert asked == [to]
    assert [e[1] for e in handler.envelopes] == [["bob@example.org"]]


def test_ready_is_not_asked_when_the_recipient_is_refused(server):
    _, port = server
    asked = []
    with (
        smtplib.SMTP("127.0.0.1", port) as connection,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        send_one(
            connection,
            "shop@example.org",
            "gone@example.org",
            PAYLOAD,
            ready=lambda: asked.append(1) or True,
        )
    assert asked == []
