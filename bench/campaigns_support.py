"""Pieces of the campaigns benchmark: an aiosmtpd server in the bench process that stamps
the moment each message arrives, real Celery workers, and the campaign's fixtures."""

from __future__ import annotations

import email
import email.policy
import os
import smtplib
import tempfile
import threading
import time
import uuid

from aiosmtpd.controller import Controller
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from campaigns import services
from campaigns.models import Delivery, Enrollment
from campaigns.templating import save_template
from cdp_site.celery import app
from cdp_site.dev.embedded import any_free_port
from integrations.destinations import services as destinations
from profiles.models import Profile
from tests.support.processes import start_celery_worker, stop_process

TEMPLATE_SUBJECT = "{{ traits.firstName }}, you left {{ event.products|length }} things behind"
TEMPLATE_HTML = (
    "<html><body><p>Hi {{ traits.firstName|default:'there' }},</p>"
    "<ul>{% for p in event.products %}<li><a href='https://shop.example.org/p/{{ p.id }}'>"
    "{{ p.name }}</a> &euro;{{ p.price|floatformat:2 }} &times; {{ p.quantity }}</li>"
    "{% endfor %}</ul><p>Total: &euro;{{ event.total|floatformat:2 }}</p></body></html>"
)


class Stamping:
    """aiosmtpd handler: the wall-clock time each message's DATA was accepted, by
    recipient (and the count). It accepts what it is given, as a mail server queues a
    message before anything reads it; the messages are kept and ``check_messages``
    parses them after the timing."""

    def __init__(self):
        self.lock = threading.Lock()
        self.at: dict[str, float] = {}
        self.count = 0
        self.last = 0.0
        self.messages: list[tuple[str, bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        now = time.time()
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.at.setdefault(rcpt, now)
            self.count += 1
            self.last = now
            self.messages.append((envelope.rcpt_tos[0], envelope.content))
        return "250 OK"

    def reset(self):
        with self.lock:
            self.at.clear()
            self.count = 0
            self.last = 0.0
            self.messages.clear()

    def check_messages(self) -> None:
        """Every message kept parses, is for its recipient, and has both parts with the
        recipient's own unsubscribe link (personalised, not a copy)."""
        for rcpt, content in self.messages:
            message = email.message_from_bytes(content, policy=email.policy.default)
            assert message["To"] == rcpt, (message["To"], rcpt)
            html = message.get_body(("html",)).get_content()
            assert message.get_body(("plain",)) is not None and "/t/u/" in html, rcpt


class SmtpServer:
    def __init__(self):
        self.handler = Stamping()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=any_free_port())

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port


def start_workers(count: int, prefix: str):
    workers, logs = [], []
    for _ in range(count):
        fd, log_name = tempfile.mkstemp(prefix=f"{prefix}-worker-", suffix=".log")
        with os.fdopen(fd, "w") as log:
            workers.append(
                start_celery_worker(
                    broker_url=os.environ["REDIS_URL"],
                    name=f"{prefix}-{uuid.uuid4().hex[:6]}",
                    log=log,
                )
            )
        logs.append(log_name)
    return workers, logs


def workers_ready(count: int) -> bool:
    """True when ``count`` workers answer a ping (they have booted and consume)."""
    return len(app.control.ping(timeout=1.0) or []) >= count


def stop_workers(workers, logs) -> None:
    for worker in workers:
        stop_process(worker)
    print(f"  worker logs: {', '.join(logs)}", flush=True)


def destination(port: int):
    return destinations.create_destination(
        name=f"Bench mail {port}",
        kind="smtp",
        config={
            "host": "127.0.0.1",
            "port": port,
            "from_email": "shop@example.org",
            "starttls": False,
        },
    )


def template():
    return save_template(name="Bench cart", subject=TEMPLATE_SUBJECT, body_html=TEMPLATE_HTML)


def cart(i: int) -> dict:
    products = [
        {
            "id": f"P-{(i * 7 + k) % 1000:04d}",
            "name": f"Product {(i * 7 + k) % 1000}",
            "price": 10 + (i + k) % 90 + 0.5,
            "quantity": 1 + k % 2,
        }
        for k in range(1 + i % 3)
    ]
    return {
        "cart_id": f"c-{i}",
        "products": products,
        "total": sum(p["price"] * p["quantity"] for p in products),
    }


def raw_send(port: int, messages: list[tuple[str, bytes]], *, one_connection: bool) -> None:
    """The baseline: smtplib straight to the server, pre-rendered messages."""
    if one_connection:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo()
            for to, payload in messages:
                smtp.sendmail("shop@example.org", [to], payload)
        return
    for to, payload in messages:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo()
            smtp.sendmail("shop@example.org", [to], payload)


def message_bytes(to: str, subject: str, html: str, text: str) -> bytes:
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email="shop@example.org", to=[to]
    )
    message.attach_alternative(html, "text/html")
    return message.message().as_bytes(linesep="\r\n")


def start_campaign(campaign_fields: dict, steps: list):
    campaign = services.create_campaign(steps=steps, **campaign_fields)
    services.start_campaign(campaign=campaign)
    return campaign


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}; see the worker log")
        time.sleep(interval)


def pending_sends(campaign, *, step: dict, channel: str, traits, count: int):
    """``count`` profiles (``traits(i)`` each), their enrollments finished at ``step``
    with a cart in their context, and one pending Delivery each, due now: a send ready
    to go. Returns (profiles, enrollments)."""
    now = timezone.now()
    profiles = Profile.objects.bulk_create(
        Profile(traits=traits(i), first_seen_at=now, last_seen_at=now) for i in range(count)
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(
            campaign=campaign,
            profile_id=p.pk,
            state=Enrollment.State.COMPLETED,
            step_id=step["id"],
            context={"event": "Cart Abandoned", "properties": cart(i)},
            entered_at=now,
            finished_at=now,
        )
        for i, p in enumerate(profiles)
    )
    Delivery.objects.bulk_create(
        Delivery(
            idempotency_key=f"{e.pk}:{step['id']}",
            campaign=campaign,
            enrollment=e,
            profile_id=e.profile_id,
            step_id=step["id"],
            channel=channel,
            destination_id=step["destination_id"],
            template_id=step["template_id"],
            status=Delivery.Status.PENDING,
            next_attempt_at=now,
            counts_toward_cap=True,
        )
        for e in enrollments
    )
    return profiles, enrollments
