"""A real SMTP server (aiosmtpd) on a free local port, collecting what it receives."""

import contextlib
import email
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from cdp_site.dev.embedded import any_free_port


class Inbox:
    def __init__(self):
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@contextlib.contextmanager
def smtp_server(handler, **options):
    """An aiosmtpd server with ``handler`` on a free local port (yielded); ``options`` go
    to aiosmtpd (``authenticator``, ``tls_context`` for STARTTLS, ``ssl_context`` for
    TLS from the start...)."""
    controller = Controller(handler, hostname="127.0.0.1", port=any_free_port(), **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp_inbox(settings):
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield inbox
