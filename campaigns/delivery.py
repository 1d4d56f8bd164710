"""Delivering what journeys decided: a due Delivery is claimed, sent through its
destination, and its outcome recorded.

Sending is **at most once** for e-mail: the Delivery is committed as being sent (status
``sending``, ``attempts + 1``, ``next_attempt_at`` = the end of a lease) in a statement
of its own before the message can go out, then the outcome is recorded. The statement is
sent first and the SMTP envelope (MAIL FROM, RCPT TO) exchanged while it commits; the
message's data waits for the commit (``Mark.ours``, asked by ``send_one``). A worker
killed after the SMTP server took the message but before "sent" was recorded leaves the
row "sending"; when its lease runs out it is marked failed ("interrupted while
sending"), never sent again: an SMTP server has no idempotency key, so a second attempt
could be a second e-mail in someone's inbox, which is worse than one lost message (which
the UI shows as failed). The Message-ID is still stable per delivery (``<key@cdp>``) so
a receiver can dedupe too.
SMS is at most once too (an SMS API takes no idempotency key): an interrupted one is
failed, not sent again. A refusal the provider says to retry (429 with Retry-After, 5xx)
is retried: the message was not taken.
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
from django.utils import timezone

from cdp_site.contact_points import normalize_email
from cdp_site.pgsend import SentStatement
from integrations.destinations import adapters, sms
from integrations.destinations import services as destinations
from integrations.destinations.adapters import DestinationError, smtp_session
from integrations.destinations.models import Destination
from profiles.models import Profile

from . import channel_events, templating, undeliverable
from .journeys.grammar import by_id
from .models import Campaign, Delivery, Enrollment, MessageTemplate
from .moves import current_profile, public_context, public_part
from .recommendations import context as recommendation_context
from .undeliverable import reason as undeliverable_reason

logger = logging.getLogger(__name__)

SENDING = "sending"
DUE_STATUSES = [Delivery.Status.PENDING, Delivery.Status.SENDING]
INTERRUPTED = "interrupted while sending: not sent again, it may have gone out"
LEASE = timedelta(minutes=10)  # how long a send may take before it counts as interrupted
MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 60
AT_MOST_ONCE = [Delivery.Channel.EMAIL, Delivery.Channel.SMS]


class Skipped(Exception):
    """Not sent, and not a failure: the address became undeliverable since the step."""


def send_delay() -> float:
    """Seconds to sleep after a send and before recording it: only the worker-kill test."""
    return float(os.environ.get("CDP_TEST_SEND_DELAY", "0") or 0)


# --- delivering -----------------------------------------------------------------------

# Due deliveries are taken a batch at a time: one statement *reserves* them (their
# next_attempt_at becomes the end of a short reservation, which is also the batch's
# token), then each is marked ``sending`` on its own just before it goes out, guarded by
# that token. A worker killed mid-batch leaves the one it was sending as ``sending``
# (never re-sent, see above) and the rest reserved: they come due again when the
# reservation ends and go out then. A batch that outlives its reservation loses the rest
# to another worker rather than sending them twice (the guard finds the token changed).
RESERVATION = timedelta(seconds=15)
BATCH = 50

# $1 now, $2 the ids sent (and not yet recorded), $3 the provider's id of each ('' when
# the channel gives none: an SMS's sid rides along, no statement of its own).
RECORD_SENT = """
UPDATE campaigns_delivery d SET status = 'sent', reason = '', sent_at = $1,
    next_attempt_at = NULL, provider_id = s.provider_id
FROM unnest($2::bigint[], $3::text[]) AS s(id, provider_id)
WHERE d.id = s.id AND d.status = 'sending'
"""
# The same with the next one's mark: $4 the delivery, $5 the token, $6 the lease.
MARK_SENDING = f"""
WITH sent AS ({RECORD_SENT})
UPDATE campaigns_delivery SET status = 'sending', reason = 'sending',
    attempts = attempts + 1, next_attempt_at = $6
WHERE id = $4 AND next_attempt_at = $5 AND status IN ('pending', 'sending')
RETURNING attempts
"""  # noqa: S608 (built from the constant above, no input)


def expire_interrupted(*, now: datetime) -> int:
    """E-mails and SMS whose send lease ran out while ``sending``: failed, never sent again."""
    return Delivery.objects.filter(
        status=Delivery.Status.SENDING,
        channel__in=AT_MOST_ONCE,
        next_attempt_at__lte=now,
    ).update(status=Delivery.Status.FAILED, reason=INTERRUPTED, next_attempt_at=None)


def reserve(*, now: datetime, limit: int) -> tuple[list[Delivery], datetime]:
    """Up to ``limit`` due deliveries, reserved (committed) for this worker; and the
    reservation's token."""
    token = max(now, timezone.now()) + RESERVATION
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(next_attempt_at=token)
    return list(Delivery.objects.filter(pk__in=ids).order_by("pk")), token


class Mark:
    """A delivery's mark as being sent, on its way to the database (``SentStatement``:
    the caller works meanwhile); ``ours()`` waits for it to be committed. False: the
    delivery is no longer this batch's (another worker took it)."""

    def __init__(self, delivery: Delivery, statement: SentStatement):
        self.delivery, self.statement = delivery, statement

    def ours(self) -> bool:
        rows = self.statement.rows()
        if rows:
            self.delivery.attempts = int(rows[0][0])
        return bool(rows)


class Batch:
    """A reserved batch being sent: what its messages read (profiles, the enrollments'
    context) read once, and the ids sent but not yet recorded, recorded with the next
    mark (one statement per message)."""

    def __init__(self, deliveries: list[Delivery], *, token: datetime, now: datetime):
        self.token, self.now = token, now
        self.sent: list[int] = []
        self.provider_ids: list[str] = []  # of each of ``sent``
        self.mark: Mark | None = None
        self.profiles = _profiles({d.profile_id for d in deliveries})
        enrollment_ids = [d.enrollment_id for d in deliveries if d.enrollment_id]
        self.contexts = dict(
            Enrollment.objects.filter(pk__in=enrollment_ids).values_list("pk", "context")
        )
        # An address that bounced or complained since its step was run: read once.
        self.undeliverable = undeliverable.among(
            Delivery.Channel.EMAIL,
            [
                (getattr(self.profiles.get(d.profile_id), "traits", None) or {}).get("email")
                for d in deliveries
                if d.channel == Delivery.Channel.EMAIL
            ],
        )
        # Read now: between a mark being sent and its answer the connection is busy,
        # so nothing a send reads before asking ``ready`` may come from the database.
        for delivery in deliveries:
            if delivery.destination_id:
                _read(Destination, delivery.destination_id)
            if delivery.template_id:
                _read(MessageTemplate, delivery.template_id)

    def mark_sending(self, delivery: Delivery) -> Mark:
        """Sends the statement that commits ``delivery`` as being sent (and records the
        ones sent before it); ``Mark.ours()`` waits for the answer."""
        statement = SentStatement(
            MARK_SENDING,
            [self.now, self.sent, self.provider_ids, delivery.pk, self.token, self.now + LEASE],
            name="cdp_mark_sending",
        )
        self.sent, self.provider_ids = [], []
        self.mark = Mark(delivery, statement)
        return self.mark

    def record_sent(self) -> None:
        if self.mark is not None:
            self.mark.ours()  # the connection is free only once its answer is read
        if self.sent:
            SentStatement(RECORD_SENT, [self.now, self.sent, self.provider_ids]).rows()
            self.sent, self.provider_ids = [], []

    def context(self, delivery: Delivery) -> dict:
        return public_part(self.contexts.get(delivery.enrollment_id))

    def recommended(self, deliveries: list[Delivery]) -> set[int]:
        """The people whose message names their recommendations: read before the first
        mark, as everything a send reads (see __init__)."""
        people = set()
        for delivery in deliveries:
            template = (
                _read(MessageTemplate, delivery.template_id) if delivery.template_id else None
            )
            profile = self.profiles.get(delivery.profile_id)
            parts = (template.subject, template.body_html, template.body_text) if template else ()
            if profile is not None and recommendation_context.uses_recommendations(*parts):
                people.add(profile.pk)
        return people


def _profiles(ids: set[int]) -> dict:
    profiles = Profile.objects.in_bulk(ids)
    for pk, profile in profiles.items():
        if profile.merged_into_id:
            profiles[pk] = current_profile(pk)
    return profiles


def deliver_batch(deliveries: list[Delivery], *, token: datetime, now: datetime) -> int:
    """Sends a reserved batch, each message marked before and recorded after it goes
    out; returns how many were ours to send."""
    handled = 0
    with delivery_run():  # the reads cached (see Batch)
        batch = Batch(deliveries, token=token, now=now)
        try:
            with recommendation_context.preloaded(batch.recommended(deliveries)):
                for delivery in deliveries:
                    if deliver(delivery, batch=batch, mark=batch.mark_sending(delivery)):
                        handled += 1
        finally:
            batch.record_sent()
    return handled


def deliver(delivery: Delivery, *, batch: Batch, mark: Mark) -> str | None:
    """Sends a Delivery once its mark is committed (``send`` asks ``mark.ours`` just
    before the message can go out); its outcome is recorded (sent: with the batch's next
    statement). None: the delivery was not ours, nothing sent or recorded."""
    try:
        provider_id = send(
            delivery,
            profile=batch.profiles.get(delivery.profile_id),
            context=batch.context(delivery),
            ready=mark.ours,
            undeliverable=batch.undeliverable,
        )
    except Exception as error:  # noqa: BLE001 (recorded below)
        if not mark.ours():
            return None
        return record_error(delivery, error, now=batch.now)
    if delay := send_delay():
        time_module.sleep(delay)
    batch.sent.append(delivery.pk)
    batch.provider_ids.append(provider_id or "")
    return Delivery.Status.SENT


def record_error(delivery: Delivery, error: Exception, *, now: datetime) -> str:

    if isinstance(error, Skipped):
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.SKIPPED, reason=str(error)[:300], next_attempt_at=None
        )
        return Delivery.Status.SKIPPED
    if isinstance(error, DestinationError):
        return record_failure(
            delivery, str(error), retryable=error.retryable, now=now, wait=error.retry_after
        )
    if isinstance(error, ValidationError):  # the template no longer renders
        return record_failure(delivery, "; ".join(error.messages), retryable=False, now=now)
    logger.error("delivery %s failed", delivery.pk, exc_info=error)
    return record_failure(delivery, f"{type(error).__name__}: {error}", retryable=True, now=now)


def record_failure(
    delivery: Delivery, message: str, *, retryable: bool, now: datetime, wait=None
) -> str:
    """Retried later (after ``wait`` seconds when the destination said, else with
    backoff) while attempts are left, else failed."""
    if retryable and delivery.attempts < MAX_ATTEMPTS:
        if wait is None:
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


def webhook_payload(delivery: Delivery, profile, context: dict, destination) -> dict:
    """What a webhook receives: the profile's id and only the traits its destination
    selected (``config["traits"]``), with the campaign and the triggering event."""
    traits = profile.traits or {}
    selected = (destination.config or {}).get("traits") or []
    return {
        "campaign_id": delivery.campaign_id,
        "step_id": delivery.step_id,
        "variant": delivery.variant,
        "profile": {"id": profile.pk, "traits": {k: traits[k] for k in selected if k in traits}},
        "event": context,
    }


def dead_letter(delivery: Delivery, error: str) -> None:
    """A webhook that failed for good joins the destination's dead letters, replayable
    with the same idempotency key (the receiver dedupes)."""

    profile = current_profile(delivery.profile_id)
    enrollment = Enrollment.objects.filter(pk=delivery.enrollment_id).first()
    destination = Destination.objects.filter(pk=delivery.destination_id).first()
    if profile is None or destination is None:
        return
    context = public_context(enrollment) if enrollment else {}
    destinations.record_dead_letter(
        destination=destination,
        payload=webhook_payload(delivery, profile, context, destination),
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


def send(delivery: Delivery, *, profile, context: dict, ready=None, undeliverable=None) -> str:
    """``ready()`` (if given) is asked before anything can go out; False: nothing is
    sent (``NotReady``). An e-mail asks it after its envelope, see ``send_one``.
    ``undeliverable``: {address: kind} of the batch's e-mail addresses that bounced.
    Returns the provider's id of the message ('' when the channel gives none)."""

    destination = _read(Destination, delivery.destination_id)
    if destination is None:
        raise Destination.DoesNotExist("Destination matching query does not exist.")
    if profile is None:
        raise adapters.DestinationError("the profile no longer exists", retryable=False)
    traits = profile.traits or {}
    # The address may have changed since the step: an unconfirmed one is not used.
    emails = (Delivery.Channel.EMAIL, Delivery.Channel.ESP)
    if delivery.channel in emails and not profile.email_confirmed:
        raise adapters.DestinationError("the e-mail address is not confirmed", retryable=False)
    if delivery.channel == Delivery.Channel.EMAIL:
        send_email(delivery, destination, profile, context, ready, undeliverable or {})
        return ""
    if delivery.channel == Delivery.Channel.SMS:
        return send_sms(delivery, destination, profile, context, ready)
    if ready is not None and not ready():
        raise adapters.NotReady
    if delivery.channel == Delivery.Channel.WEBHOOK:
        adapters.post_webhook(
            destination,
            payload=webhook_payload(delivery, profile, context, destination),
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
    return ""


def send_email(delivery, destination, profile, context, ready, undeliverable: dict) -> None:
    address = (profile.traits or {}).get("email")
    if kind := undeliverable.get(normalize_email(address) or ""):
        raise Skipped(undeliverable_reason(kind))
    template = _read(MessageTemplate, delivery.template_id)
    if template is None:
        raise adapters.DestinationError("the message was deleted", retryable=False)
    rendered = templating.render(
        template=template, profile=profile, context=context, delivery=delivery
    )
    adapters.send_email(
        destination,
        to=address,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        headers=rendered.headers,
        message_id=message_id_of(delivery),
        ready=ready,
    )


def message_id_of(delivery: Delivery) -> str:
    """The Message-ID an e-mail delivery is sent with; bounces and delivery events name
    it (``delivery_of_message_id`` reads it back)."""
    return f"<{delivery.idempotency_key.replace(':', '.')}@cdp>"


def send_sms(delivery, destination, profile, context, ready) -> str:
    """The text rendered and the number read before the mark is asked for: a message that
    cannot be sent fails without a request. Returns the provider's id (its sid)."""
    template = _read(MessageTemplate, delivery.template_id)
    if template is None:
        raise adapters.DestinationError("the message was deleted", retryable=False)
    body = templating.render_sms(template=template, profile=profile, context=context)
    number = sms.phone_of(destination, (profile.traits or {}).get("phone"))
    if ready is not None and not ready():
        raise adapters.NotReady
    sid = adapters.send_sms(
        destination, to=number, body=body, status_callback=channel_events.status_url(delivery.pk)
    )
    return sid[:64]
