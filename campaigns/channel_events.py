"""What channels report back about sent messages, and what people send back.

- **SMS status callbacks** (``StatusCallback`` of each message, signed with
  X-Twilio-Signature): queued and sent change nothing or mark it sent; delivered marks it
  delivered; undelivered and failed mark it failed with the carrier's error code.
  Statuses only move forward: a late "sent" after "delivered" changes nothing.
- **Inbound SMS**: STOP (and STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) withdraws SMS
  marketing consent of the profile holding the sender's number. Every message is
  recorded (``InboundSms``) with what it did; from a number no profile holds, nothing
  else happens.
- **E-mail delivery events** (the SMTP destination's webhook and its bounce folder):
  a bounce or a complaint marks the address undeliverable (campaigns/undeliverable.py)
  and the delivery it names failed; "delivered" marks the delivery delivered.

Every function is idempotent: a provider that retries a callback changes nothing twice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from cdp_site.contact_points import normalize_email, normalize_phone
from integrations.destinations.models import Destination
from profiles import selectors as profile_selectors
from profiles import services as profile_services

from . import tracking, undeliverable
from .models import Delivery, InboundSms, Undeliverable

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
SMS_PURPOSE = "sms_marketing"
SMS_STATUSES = ("queued", "accepted", "sending", "sent", "delivered", "undelivered", "failed")
OPEN = [Delivery.Status.SENDING, Delivery.Status.SENT]  # states a report may move on
EMAIL_EVENTS = ("bounce", "complaint", "delivered")


@functools.lru_cache(maxsize=4)
def _path(name: str) -> str:
    # reverse() once per URL name: every text message carries its callback URL.
    return reverse(name, args=[0])[: -len("0/")]


def status_url(delivery_id: int) -> str:
    return f"{tracking.base_url()}{_path('tracking:sms-status')}{int(delivery_id)}/"


def inbound_url(destination_id: int) -> str:
    return tracking.base_url() + reverse("tracking:sms-inbound", args=[int(destination_id)])


def email_events_url(destination_id: int) -> str:
    return tracking.base_url() + reverse("tracking:email-events", args=[int(destination_id)])


# --- SMS ----------------------------------------------------------------------------------


def sms_status(*, delivery_id: int, status: str, error_code: str = "", sid: str = "") -> bool:
    """Applies one status callback; True when the delivery changed."""
    now = timezone.now()
    rows = Delivery.objects.filter(pk=delivery_id, channel=Delivery.Channel.SMS, status__in=OPEN)
    changes: dict = {"next_attempt_at": None, "sent_at": Coalesce(F("sent_at"), now)}
    if sid:
        changes["provider_id"] = sid[:64]
    if status == "sent":
        changed = rows.filter(status=Delivery.Status.SENDING).update(
            status=Delivery.Status.SENT, reason="", **changes
        )
    elif status == "delivered":
        changed = rows.update(
            status=Delivery.Status.DELIVERED, reason="", delivered_at=now, **changes
        )
    elif status in ("undelivered", "failed"):
        code = f" (error {error_code})" if error_code else ""
        reason = f"the carrier reported it {status}{code}"
        changed = rows.update(status=Delivery.Status.FAILED, reason=reason, **changes)
    else:  # queued, accepted, sending: still on its way
        changed = 0
    return bool(changed)


@dataclass(frozen=True)
class Inbound:
    destination: Destination
    sender: str
    body: str
    sid: str = ""


@transaction.atomic
def sms_received(message: Inbound) -> InboundSms:
    """Records an inbound text; a STOP word withdraws SMS consent of the number's
    profile. The same message (by its sid) twice is recorded once."""
    if message.sid:
        seen = InboundSms.objects.filter(provider_id=message.sid[:64]).first()
        if seen is not None:
            return seen
    region = str((message.destination.config or {}).get("default_region") or "US")
    number = normalize_phone(message.sender, region.upper()) or message.sender.strip()[:40]
    words = message.body.strip().upper()
    profile = profile_selectors.profile_by_phone(number=number)
    if words not in STOP_WORDS:
        outcome = InboundSms.Outcome.NO_KEYWORD
    elif profile is None:
        outcome = InboundSms.Outcome.UNKNOWN_NUMBER
    else:
        outcome = InboundSms.Outcome.STOPPED
    record = InboundSms.objects.create(
        destination=message.destination,
        provider_id=message.sid[:64],
        from_number=number,
        body=message.body[:320],
        profile_id=profile.pk if profile else None,
        outcome=outcome,
    )
    if outcome == InboundSms.Outcome.STOPPED and _consent(profile) != "withdrawn":
        profile_services.record_consent(
            profile=profile,
            purpose=SMS_PURPOSE,
            status="withdrawn",
            evidence={"via": f"SMS {words}", "inbound_sms": record.pk},
        )
    return record


def _consent(profile) -> str:
    return ((profile.consent or {}).get(SMS_PURPOSE) or {}).get("status", "")


# --- e-mail -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailEvent:
    type: str  # bounce | complaint | delivered
    email: str
    message_id: str = ""
    detail: str = ""  # a DSN's status and diagnostic, for the reason


def delivery_of_message_id(message_id: str) -> Delivery | None:
    """The e-mail delivery sent with ``message_id`` (``<{enrollment}.{step}@cdp>``)."""
    value = (message_id or "").strip().strip("<>")
    if not value.endswith("@cdp") or "." not in value:
        return None
    enrollment, step = value[: -len("@cdp")].split(".", 1)
    key = f"{enrollment}:{step}"
    return Delivery.objects.filter(idempotency_key=key, channel=Delivery.Channel.EMAIL).first()


@transaction.atomic
def email_event(event: EmailEvent, *, via: str) -> str:
    """Applies one bounce, complaint or delivery report; returns what it did."""
    delivery = delivery_of_message_id(event.message_id)
    if event.type == "delivered":
        if delivery is None:
            return "no such message"
        Delivery.objects.filter(pk=delivery.pk, status__in=OPEN).update(
            status=Delivery.Status.DELIVERED, delivered_at=timezone.now()
        )
        return "delivered"
    address = normalize_email(event.email)
    if address is None:
        return "not an e-mail address"
    kind = Undeliverable.Kind.COMPLAINT if event.type == "complaint" else Undeliverable.Kind.BOUNCE
    detail = f": {event.detail}" if event.detail else ""
    undeliverable.mark(
        channel=Delivery.Channel.EMAIL,
        address=address,
        kind=kind,
        reason=f"{event.type}{detail}",
        via=via,
        delivery_id=delivery.pk if delivery else None,
    )
    if delivery is not None and event.type == "bounce":
        Delivery.objects.filter(
            Q(status__in=OPEN) | Q(status=Delivery.Status.DELIVERED), pk=delivery.pk
        ).update(status=Delivery.Status.FAILED, reason=f"bounced{detail}"[:300])
    return "marked undeliverable"
