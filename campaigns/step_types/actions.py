"""Activation steps: ``send_email``, ``send_sms``, ``audience``, ``webhook``, ``esp_list``
(each to a destination) and ``set_trait``. Running one never talks to a destination: it inserts the
step's Delivery (``INSERT … ON CONFLICT (idempotency_key) DO NOTHING``, key
``"{enrollment}:{step}"``) in the runner's transaction, with the enrollment's move, and
campaigns/delivery.py sends it after commit. A set_trait step sets the trait here."""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connection

from integrations.destinations.models import Destination
from profiles import email_confirmation
from profiles import services as profile_services
from profiles.models import Profile
from profiles.privacy import selectors as privacy

from .. import moves, protection
from ..models import ActivationSettings, Campaign, Delivery, Enrollment, MessageTemplate
from .base import StepType, int_or_text, positive, posted, register, stripped, text_of

EMAIL_CHANNELS = (Delivery.Channel.EMAIL, Delivery.Channel.ESP)
UNCONFIRMED = "e-mail address not confirmed yet (a confirmation e-mail was asked for)"
# A privacy request restricted the person (profiles/privacy): no activation of any kind.
RESTRICTED = "restricted by a privacy request"
TRANSACTIONAL_REFUSED = "a transactional message is sent only by a journey an event starts"


class Activation(StepType):
    """A step that inserts a Delivery on ``channel``, with ``next``."""

    def run(self, enrollment, step, *, now, rules):
        return act(enrollment, step, channel=self.channel, now=now, rules=rules)


class ToDestination(Activation):
    """{"id", "type", "destination_id", "next"} and, by type, "template_id" (the message)
    or "action" (one of ``actions``)."""

    fields = frozenset({"destination_id", "next"})
    actions: list[tuple[str, str]] = []  # (value, label) of "action", when it has one
    action_message = ""

    def check(self, path, step, errors):
        if not positive(step.get("destination_id"), 2**62):
            errors.append({"field": f"{path}.destination_id", "message": "Choose a destination."})
        if self.actions and step.get("action") not in dict(self.actions):
            errors.append({"field": f"{path}.action", "message": self.action_message})

    def read_fields(self, data, p, step):
        step["destination_id"] = int_or_text(data.get(f"{p}.destination_id"))
        if self.actions:
            step["action"] = stripped(data.get(f"{p}.action"))
        super().read_fields(data, p, step)

    def write_fields(self, step, p, data):
        data[f"{p}.template_id"] = text_of(step.get("template_id"))
        data[f"{p}.destination_id"] = text_of(step.get("destination_id"))
        data[f"{p}.action"] = text_of(step.get("action"))
        super().write_fields(step, p, data)

    def describe(self, step):
        return str(step.get("action") or "") if self.actions else ""


@register
class SendEmail(ToDestination):
    name, label = "send_email", "Send an e-mail"
    fields = frozenset({"template_id", "destination_id", "next"})
    id_stem = "email"
    defaults = {"template_id": None, "destination_id": None}
    destination_kinds = (Destination.Kind.SMTP,)
    channel = Delivery.Channel.EMAIL

    def check(self, path, step, errors):
        super().check(path, step, errors)
        if not positive(step.get("template_id"), 2**62):
            errors.append({"field": f"{path}.template_id", "message": "Choose a message."})

    def read_fields(self, data, p, step):
        step["template_id"] = int_or_text(data.get(f"{p}.template_id"))
        super().read_fields(data, p, step)

    def describe(self, step):
        template = MessageTemplate.objects.filter(pk=step.get("template_id") or 0).first()
        return template.name if template else "(no message chosen)"


@register
class SendSms(SendEmail):
    """{"id", "type": "send_sms", "template_id" (an SMS message), "destination_id" (an
    SMS destination), "next"}: one text message to the person's phone trait."""

    name, label = "send_sms", "Send an SMS"
    id_stem = "sms"
    destination_kinds = (Destination.Kind.SMS,)
    channel = Delivery.Channel.SMS


@register
class Audience(ToDestination):
    name, label = "audience", "Ad audience: add or remove"
    fields = frozenset({"destination_id", "action", "next"})
    defaults = {"destination_id": None, "action": "add"}
    destination_kinds = (
        Destination.Kind.GOOGLE_CUSTOMER_MATCH,
        Destination.Kind.META_CUSTOM_AUDIENCE,
    )
    channel = Delivery.Channel.AUDIENCE
    actions = [("add", "Add to the audience"), ("remove", "Remove from the audience")]
    action_message = "Choose add or remove."


@register
class Webhook(ToDestination):
    name, label = "webhook", "Call a webhook"
    defaults = {"destination_id": None}
    destination_kinds = (Destination.Kind.WEBHOOK,)
    channel = Delivery.Channel.WEBHOOK


@register
class EspList(ToDestination):
    name, label = "esp_list", "E-mail platform list"
    fields = frozenset({"destination_id", "action", "next"})
    defaults = {"destination_id": None, "action": "subscribe"}
    destination_kinds = (Destination.Kind.ESP_LIST,)
    channel = Delivery.Channel.ESP
    actions = [("subscribe", "Subscribe"), ("update", "Update"), ("unsubscribe", "Unsubscribe")]
    action_message = "Choose subscribe, update or unsubscribe."


@register
class SetTrait(Activation):
    """{"id", "type": "set_trait", "key", "value", "next"}. Editor fields: ``key``,
    ``value`` and ``value_kind`` ("text" | "json": the value as JSON)."""

    name, label = "set_trait", "Set a trait"
    fields = frozenset({"key", "value", "next"})
    defaults = {"key": "", "value": ""}
    channel = Delivery.Channel.TRAIT

    def check(self, path, step, errors):
        if not (isinstance(step.get("key"), str) and step["key"].strip()):
            errors.append({"field": f"{path}.key", "message": "Enter the trait to set."})

    def read_fields(self, data, p, step):
        step["key"] = stripped(data.get(f"{p}.key"))
        raw = posted(data, f"{p}.value")
        if posted(data, f"{p}.value_kind") == "json":
            try:
                step["value"] = json.loads(raw)
            except ValueError:
                step["value"] = raw
        else:
            step["value"] = raw
        super().read_fields(data, p, step)

    def write_fields(self, step, p, data):
        value = step.get("value")
        data[f"{p}.key"] = text_of(step.get("key"))
        if isinstance(value, str):
            data[f"{p}.value"], data[f"{p}.value_kind"] = value, "text"
        else:
            data[f"{p}.value"], data[f"{p}.value_kind"] = json.dumps(value), "json"
        super().write_fields(step, p, data)

    def describe(self, step):
        return f"{step.get('key')} = {step.get('value')}"


# Running ---------------------------------------------------------------------------------

INSERT_DELIVERY = """
INSERT INTO campaigns_delivery (idempotency_key, campaign_id, enrollment_id, profile_id,
    step_id, variant, channel, destination_id, template_id, status, reason, attempts,
    next_attempt_at, counts_toward_cap, created_at, sent_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""


def insert_delivery(
    enrollment: Enrollment,
    step: dict,
    *,
    channel: str,
    status: str,
    reason: str,
    destination_id,
    template_id,
    now: datetime,
    counts: bool = True,
) -> int | None:
    """The step's Delivery, unless one exists already (then None: someone else sends).
    ``counts``: False for a message that counts toward no cap (a transactional one)."""
    counts = counts and channel in protection.MESSAGE_CHANNELS
    counts = counts and status == Delivery.Status.PENDING
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_DELIVERY,
            [
                f"{enrollment.pk}:{step['id']}",
                enrollment.campaign_id,
                enrollment.pk,
                enrollment.profile_id,
                step["id"],
                enrollment.variant,
                channel,
                destination_id,
                template_id,
                status,
                reason[:300],
                now if status == Delivery.Status.PENDING else None,
                counts,
                now,
                now if status == Delivery.Status.SENT else None,
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def act(
    enrollment: Enrollment, step: dict, *, channel: str, now: datetime, rules: ActivationSettings
):
    """Runs an activation step: held by the holdout or quiet hours, else its Delivery
    (skipped, with the reason, when the person may not or cannot get it)."""
    if enrollment.holdout:
        moves.log(enrollment, step["id"], "holdout", now)
        return step.get("next")
    template = message_of(step, channel, rules)
    transactional = bool(template and template.transactional)
    # A marketing message keeps its channel's cap and quiet hours; a transactional one not.
    messages = channel in protection.MESSAGE_CHANNELS and not transactional
    channel_rules = rules.for_channel(channel) if messages else None
    profile = moves.current_profile(enrollment.profile_id)
    if messages and channel_rules.quiet_start is not None and channel_rules.quiet_end is not None:
        tz = protection.recipient_zone(profile, rules)
        until = protection.quiet_until(now, channel_rules, tz)
        if until is not None:
            moves.log(enrollment, step["id"], "quiet_hours", now)
            return moves.wait(enrollment, step, until, now, "quiet")
    destination = None
    if channel != Delivery.Channel.TRAIT:
        destination = Destination.objects.filter(pk=step.get("destination_id")).first()
    protection.lock_person(enrollment.profile_id)
    reason = problem_for(
        enrollment,
        step,
        profile=profile,
        channel=channel,
        destination=destination,
        template=template,
    )
    if (
        not reason
        and messages
        and protection.over_cap(enrollment.profile_id, now=now, rules=channel_rules)
    ):
        reason = protection.FREQUENCY_CAP
    status = Delivery.Status.SKIPPED if reason else Delivery.Status.PENDING
    if channel == Delivery.Channel.TRAIT and not reason:
        status = Delivery.Status.SENT
    inserted = insert_delivery(
        enrollment,
        step,
        channel=channel,
        status=status,
        reason=reason,
        destination_id=destination.pk if destination else None,
        template_id=template.pk if template else None,
        now=now,
        counts=messages,
    )
    if inserted and status == Delivery.Status.SENT:
        profile_services.set_trait(
            profile_id=profile.pk, key=step.get("key", ""), value=step.get("value")
        )
    moves.log(enrollment, step["id"], "skipped" if reason else "done", now)
    return step.get("next")


def message_of(step: dict, channel: str, rules: ActivationSettings) -> MessageTemplate | None:
    """The message an e-mail or SMS step sends (None for other steps, or once deleted),
    read once per run of the engine (kept with the run's ``rules``)."""
    if channel not in (Delivery.Channel.EMAIL, Delivery.Channel.SMS):
        return None
    read = rules.__dict__.setdefault("_messages", {})
    pk = step.get("template_id")
    if not isinstance(pk, int):
        return None
    if pk not in read:
        read[pk] = MessageTemplate.objects.filter(pk=pk).first()
    return read[pk]


def problem_for(enrollment, step, *, profile, channel, destination, template) -> str:
    """Why this person may not or cannot get the step's message or action ('' if they may)."""
    if profile is None:
        return "the profile no longer exists"
    if privacy.is_restricted(profile):
        return RESTRICTED
    if channel != Delivery.Channel.TRAIT and destination is None:
        return "the destination no longer exists"
    if template is not None and template.transactional:
        if enrollment.campaign.kind != Campaign.Kind.EVENT:
            return TRANSACTIONAL_REFUSED
    else:
        action = str(step.get("action") or "")
        if reason := protection.consent_problem(profile, channel, destination, action=action):
            return reason
    # An undeliverable address is skipped when its e-mail's batch is sent (one query a
    # batch, campaigns/delivery.py), not here (one a person).
    if channel in EMAIL_CHANNELS:
        return address_problem(profile)
    if channel == Delivery.Channel.SMS and not str((profile.traits or {}).get("phone") or ""):
        return "no phone number"
    return ""


def address_problem(profile: Profile) -> str:
    """Why no e-mail may go to this person, or "". An address that only a client source
    (a website form, an app) stated is confirmed by its owner first: the message is
    skipped and a confirmation is asked for (profiles/email_confirmation.py)."""
    address = (profile.traits or {}).get("email")
    if not address or not isinstance(address, str):
        return "no e-mail address"
    if not profile.email_confirmed:
        email_confirmation.request(address=address)
        return UNCONFIRMED
    return ""
