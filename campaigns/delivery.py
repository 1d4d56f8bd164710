"""Delivering what journeys decided: a due Delivery is claimed, sent through its
destination, and its outcome recorded.

Sending is **at most once** for e-mail: ``deliver`` first commits the Delivery as being
sent (status ``sending``, ``attempts + 1``, ``next_attempt_at`` = the end of a lease)
in a transaction of its own, then sends, then records the outcome. A worker killed after
the SMTP server took the message but before "sent" was recorded leaves the row "sending";
when its lease runs out it is marked failed ("interrupted while sending"), never sent again:
an SMTP server has no idempotency key, so a second attempt could be a second e-mail in
someone's inbox, which is worse than one lost message (which the UI shows as failed). The
Message-ID is still stable per delivery (``<key@cdp>``) so a receiver can dedupe too.
Webhooks, audiences and ESP list calls are idempotent at the receiver (Idempotency-Key
header; adding to an audience or a list twice is a no-op), so an interrupted one is retried.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import time as time_module
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.destinations.models import Destination

from .engine import current_profile, public_context
from .models import Campaign, Delivery, Enrollment, MessageTemplate
from .steps import by_id

logger = logging.getLogger(__name__)

SENDING = "sending"
DUE_STATUSES = [Delivery.Status.PENDING, Delivery.Status.SENDING]
INTERRUPTED = "interrupted while sending: not sent again, it may have gone out"
LEASE = timedelta(minutes=10)  # how long a send may take before it counts as interrupted
MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 60


def send_delay() -> float:
    """Seconds to sleep after a send and before recording it: only the worker-kill test."""
    return float(os.environ.get("CDP_TEST_SEND_DELAY", "0") or 0)


# --- delivering -----------------------------------------------------------------------


def claim_delivery(*, now: datetime) -> Delivery | None:
    """The next due Delivery, committed as being sent (its own transaction)."""
    while True:
        with transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "id")
                .first()
            )
            if delivery is None:
                return None
            interrupted = delivery.status == Delivery.Status.SENDING  # its lease ran out
            if interrupted and delivery.channel == Delivery.Channel.EMAIL:
                delivery.status, delivery.reason = Delivery.Status.FAILED, INTERRUPTED
                delivery.next_attempt_at = None
                delivery.save(update_fields=["status", "reason", "next_attempt_at"])
                continue
            delivery.status, delivery.reason = Delivery.Status.SENDING, SENDING
            delivery.attempts += 1
            delivery.next_attempt_at = now + LEASE
            delivery.save(update_fields=["status", "reason", "attempts", "next_attempt_at"])
            return delivery


def deliver(delivery: Delivery, *, now: datetime) -> str:
    """Sends a claimed Delivery and records the outcome; returns its status."""
    from integrations.destinations.adapters import DestinationError

    try:
        send(delivery)
    except DestinationError as error:
        return record_failure(delivery, str(error), retryable=error.retryable, now=now)
    except ValidationError as error:  # the template no longer renders
        return record_failure(delivery, "; ".join(error.messages), retryable=False, now=now)
    except Exception as error:  # noqa: BLE001 (kept on the row, retried)
        logger.exception("delivery %s failed", delivery.pk)
        return record_failure(delivery, f"{type(error).__name__}: {error}", retryable=True,
                              now=now)  # fmt: skip
    if delay := send_delay():
        time_module.sleep(delay)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT, reason="", sent_at=now, next_attempt_at=None
    )
    return Delivery.Status.SENT


def record_failure(delivery: Delivery, message: str, *, retryable: bool, now: datetime) -> str:
    if retryable and delivery.attempts < MAX_ATTEMPTS:
        wait = RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1)
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING,
            reason=f"retrying: {message}"[:300],
            next_attempt_at=now + timedelta(seconds=wait),
        )
        return Delivery.Status.PENDING
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED, reason=message[:300], next_attempt_at=None
    )
    if delivery.channel == Delivery.Channel.WEBHOOK:
        dead_letter(delivery, message)
    return Delivery.Status.FAILED


def _step(delivery: Delivery) -> dict:
    campaign = Campaign.objects.get(pk=delivery.campaign_id)
    return by_id(campaign.steps or []).get(delivery.step_id) or {}


def webhook_payload(delivery: Delivery, profile, context: dict) -> dict:
    return {
        "campaign_id": delivery.campaign_id,
        "step_id": delivery.step_id,
        "variant": delivery.variant,
        "profile": {"id": profile.pk, "traits": profile.traits or {}},
        "event": context,
    }


def dead_letter(delivery: Delivery, error: str) -> None:
    """A webhook that failed for good joins the destination's dead letters, replayable
    with the same idempotency key (the receiver dedupes)."""
    from integrations.destinations import services as destinations

    profile = current_profile(delivery.profile_id)
    enrollment = Enrollment.objects.filter(pk=delivery.enrollment_id).first()
    destination = Destination.objects.filter(pk=delivery.destination_id).first()
    if profile is None or destination is None:
        return
    context = public_context(enrollment) if enrollment else {}
    destinations.record_dead_letter(
        destination=destination,
        payload=webhook_payload(delivery, profile, context),
        idempotency_key=delivery.idempotency_key,
        error=error,
        attempts=delivery.attempts,
    )


# Within a run of deliveries (``delivery_run``), destinations and message templates are
# read once per run instead of once per message.
_RUN_CACHE: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "delivery_run_cache", default=None
)


@contextlib.contextmanager
def delivery_run():
    """Destinations and templates read once for the run; one SMTP connection per
    destination kept open across the run's e-mails."""
    from integrations.destinations.adapters import smtp_session

    token = _RUN_CACHE.set({}) if _RUN_CACHE.get() is None else None
    try:
        with smtp_session():
            yield
    finally:
        if token is not None:
            _RUN_CACHE.reset(token)


def _read(model, pk):
    cache = _RUN_CACHE.get()
    if cache is None:
        return model.objects.filter(pk=pk).first()
    key = (model.__name__, pk)
    if key not in cache:
        cache[key] = model.objects.filter(pk=pk).first()
    return cache[key]


def send(delivery: Delivery) -> None:
    from integrations.destinations import adapters

    from . import messages

    destination = _read(Destination, delivery.destination_id)
    if destination is None:
        raise Destination.DoesNotExist("Destination matching query does not exist.")
    profile = current_profile(delivery.profile_id)
    if profile is None:
        raise adapters.DestinationError("the profile no longer exists", retryable=False)
    context = {}
    if delivery.enrollment_id:
        stored = (
            Enrollment.objects.filter(pk=delivery.enrollment_id)
            .values_list("context", flat=True)
            .first()
        )
        context = {k: v for k, v in (stored or {}).items() if not k.startswith("_")}
    traits = profile.traits or {}
    if delivery.channel == Delivery.Channel.EMAIL:
        template = _read(MessageTemplate, delivery.template_id)
        if template is None:
            raise adapters.DestinationError("the message was deleted", retryable=False)
        rendered = messages.render(
            template=template, profile=profile, context=context, delivery=delivery
        )
        adapters.send_email(
            destination,
            to=traits["email"],
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            headers=rendered.headers,
            message_id=f"<{delivery.idempotency_key.replace(':', '.')}@cdp>",
        )
    elif delivery.channel == Delivery.Channel.WEBHOOK:
        adapters.post_webhook(
            destination,
            payload=webhook_payload(delivery, profile, context),
            idempotency_key=delivery.idempotency_key,
        )
    elif delivery.channel == Delivery.Channel.AUDIENCE:
        adapters.audience_update(
            destination,
            action=_step(delivery).get("action", "add"),
            people=[{"email": traits.get("email"), "phone": traits.get("phone")}],
        )
    elif delivery.channel == Delivery.Channel.ESP:
        merge = {k: v for k, v in traits.items() if isinstance(v, str | int | float | bool)}
        adapters.esp_member(
            destination,
            action=_step(delivery).get("action", "subscribe"),
            email=traits.get("email", ""),
            merge_fields=merge,
        )
