"""Campaign engine fixtures: people through the real pipeline, an SMTP destination on the
test's aiosmtpd server, a webhook destination on a local HTTP server, and ``pump`` which
runs the trigger readers and the runner at a given (controllable) time."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.utils import timezone

from campaigns import runner, services, triggers
from campaigns.models import Campaign, Delivery, MessageTemplate, StepLog
from integrations.destinations import services as destinations
from profiles.models import Identity
from tests.profiles.conftest import drain, message, send, web  # noqa: F401
from tests.support.ad_platforms import google_api, meta_api  # noqa: F401 (audience fixtures)

NOW = timezone.now().replace(microsecond=0)


def at(minutes: float):
    return NOW + timedelta(minutes=minutes)


def person(send, web, user, *, consent=True, minutes=-60, **traits):  # noqa: F811
    traits = {"email": f"{user}@example.org", "firstName": user.title(), **traits}
    if consent:
        traits["marketingOptIn"] = True
    send(web, message("identify", userId=user, traits=traits, timestamp=at(minutes).isoformat()))
    return Identity.objects.get(kind__name="user_id", value=user).profile


def track(send, web, user, event, minutes, **properties):  # noqa: F811
    send(
        web,
        message(userId=user, event=event, properties=properties, timestamp=at(minutes).isoformat()),
    )


def log_steps(enrollment, *steps: tuple[str, str], at, every=timedelta(0)) -> None:
    """The step log of ``enrollment``: a row for each (step id, outcome), the first at
    ``at``, each next ``every`` later."""
    for i, (step_id, outcome) in enumerate(steps):
        StepLog.objects.create(
            enrollment=enrollment,
            campaign_id=enrollment.campaign_id,
            profile_id=enrollment.profile_id,
            step_id=step_id,
            outcome=outcome,
            at=at + i * every,
        )


def pump(minutes: float = 0) -> dict:
    """What the worker does at NOW + minutes: read both outboxes, run what is due."""
    now = at(minutes)
    triggers.read_all(now=now)
    return runner.run(now=now)


def pending_mails(send, web, smtp, template, users):  # noqa: F811
    """An event journey that mails ``template`` through ``smtp``, run for ``users``
    (each identified and triggering it): one pending e-mail delivery each."""

    journey = campaign(
        [
            {
                "id": "mail",
                "type": "send_email",
                "template_id": template.pk,
                "destination_id": smtp.pk,
            }
        ],
        trigger_event="Checkout Started",
    )
    for user in users:
        person(send, web, user)
        track(send, web, user, "Checkout Started", 0, products=[{"name": "Boots"}])
    triggers.read_all()
    runner.run_due()
    assert Delivery.objects.filter(status="pending").count() == len(users)
    return journey


def campaign(steps, *, kind=Campaign.Kind.EVENT, start=True, **fields):
    made = services.create_campaign(name=f"c{len(steps)}", kind=kind, steps=steps, **fields)
    if start:
        services.start_campaign(campaign=made)
    return made


@pytest.fixture
def smtp(db, smtp_inbox):

    destination = destinations.create_destination(
        name="Mail",
        kind="smtp",
        config={
            "host": "127.0.0.1",
            "port": settings.EMAIL_PORT,
            "from_email": "shop@example.org",
            "starttls": False,
        },
    )
    destination.inbox = smtp_inbox
    return destination


@pytest.fixture
def template(db):
    return MessageTemplate.objects.create(
        name="Cart",
        subject="{{ traits.firstName }}, you left something",
        body_html="<p>{% for p in event.products %}<b>{{ p.name }}</b> {% endfor %}</p>",
    )


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.server.delay)  # a slow destination
        self.server.received.append((dict(self.headers), json.loads(body or b"{}")))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.received, server.statuses, server.delay = [], [], 0.0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook(db, hook_server):
    destination = destinations.create_destination(
        name="Hook",
        kind="webhook",
        config={
            "url": f"http://127.0.0.1:{hook_server.server_port}/in",
            "timeout": 5,
            "traits": ["firstName", "tier"],
        },
        secrets={"signing_secret": "s3cret"},
    )
    destination.server = hook_server
    return destination
