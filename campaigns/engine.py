"""Executing a journey: one enrollment moves through its campaign's steps until a step
waits (a timer, an event, quiet hours) or the journey ends.

How an enrollment stands at a step:

- ``step_id == ""``: just enrolled; the first step is entered when the runner claims it.
- ``context["_waiting"] == {"step": id, "since": iso, "why": "wait"|"quiet"}``: it waits
  at that step; when the runner claims it (``wake_at`` came) it *wakes*: a wait goes on to
  ``next``, an action held by quiet hours is entered again.
- ``state == waiting_event``: a wait_for_event step. The trigger reader moves it to
  ``next`` when the event comes (``event_arrived``); the runner claims it at ``wake_at``
  (the timeout) and it goes to ``timeout_next``.
- otherwise the step is entered when claimed (after an event came, or a retry).

Actions never talk to a destination here: each inserts its Delivery (``INSERT … ON
CONFLICT (idempotency_key) DO NOTHING``, key ``"{enrollment}:{step}"``) in the runner's
transaction, with the enrollment's move, and ``deliver`` sends it after commit.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from django.db import connection

from integrations.destinations.models import Destination
from profiles import email_confirmation
from profiles import selectors as profile_selectors
from profiles import services as profile_services
from profiles.models import Profile, ProfileEvent
from segments.compiler import Compiler, active_profiles

from . import protection
from .models import ActivationSettings, Delivery, Enrollment, StepLog
from .steps import TIME_OF_DAY, by_id

logger = logging.getLogger(__name__)

WAITING = "_waiting"
STOP = object()  # the enrollment waits or has ended: nothing more in this run
MAX_HOPS = 50  # steps in one run without waiting: a journey that loops is stopped
CHANNEL_OF = {
    "send_email": Delivery.Channel.EMAIL,
    "audience": Delivery.Channel.AUDIENCE,
    "webhook": Delivery.Channel.WEBHOOK,
    "esp_list": Delivery.Channel.ESP,
    "set_trait": Delivery.Channel.TRAIT,
}


def log(enrollment: Enrollment, step_id: str, outcome: str, now: datetime) -> None:
    StepLog.objects.create(
        enrollment=enrollment,
        campaign_id=enrollment.campaign_id,
        profile_id=enrollment.profile_id,
        step_id=step_id or "-",
        outcome=outcome[:40],
        at=now,
    )


def public_context(enrollment: Enrollment) -> dict:
    return public_part(enrollment.context)


def public_part(context: dict | None) -> dict:
    """An enrollment's context without the engine's own keys (``_waiting``…)."""
    return {k: v for k, v in (context or {}).items() if not k.startswith("_")}


def current_profile(profile_id: int) -> Profile | None:
    """The person now: the survivor when the profile was merged since it enrolled."""
    return profile_selectors.surviving_profile(profile_id=profile_id)


# --- moving ---------------------------------------------------------------------------


def finish(enrollment: Enrollment, state: str, now: datetime, reason: str = "") -> None:
    enrollment.state = state
    enrollment.finished_at = now
    enrollment.wake_at = None
    enrollment.waiting_for = ""
    enrollment.exit_reason = reason[:200]
    enrollment.context.pop(WAITING, None)


def _wait(enrollment: Enrollment, step: dict, until: datetime, now: datetime, why: str) -> object:
    enrollment.wake_at = until
    enrollment.context[WAITING] = {"step": step["id"], "since": now.isoformat(), "why": why}
    return STOP


def advance(enrollment: Enrollment, *, now: datetime, rules: ActivationSettings) -> None:
    """Runs ``enrollment`` (claimed, locked) from where it stands until it waits or ends,
    and saves it. The caller holds the transaction."""
    enrollment.context = dict(enrollment.context or {})
    steps = by_id(enrollment.campaign.steps or [])
    waiting = enrollment.context.get(WAITING) or {}
    if enrollment.step_id and enrollment.step_id not in steps:
        # The journey was edited while this person waited at a step it no longer has.
        why = f"step {enrollment.step_id} was removed from the journey"
        finish(enrollment, Enrollment.State.EXITED, now, why)
        enrollment.save()
        return
    if not steps:
        target = None
    elif enrollment.state == Enrollment.State.WAITING_EVENT:
        step = steps.get(enrollment.step_id) or {}
        log(enrollment, enrollment.step_id, "timed_out", now)
        enrollment.state, enrollment.waiting_for = Enrollment.State.ACTIVE, ""
        target = step.get("timeout_next")
    elif not enrollment.step_id:
        target = enrollment.campaign.steps[0]["id"]
    elif waiting.get("step") == enrollment.step_id and waiting.get("why") == "wait":
        log(enrollment, enrollment.step_id, "passed", now)
        target = (steps.get(enrollment.step_id) or {}).get("next")
    else:
        target = enrollment.step_id  # held by quiet hours, or moved on by an event: enter
    enrollment.context.pop(WAITING, None)
    hops = 0
    while target is not STOP:
        if target is None:
            finish(enrollment, Enrollment.State.COMPLETED, now)
            break
        step = steps.get(target)
        if step is None:
            finish(enrollment, Enrollment.State.FAILED, now, f"the journey has no step {target}")
            break
        hops += 1
        if hops > MAX_HOPS:
            finish(enrollment, Enrollment.State.FAILED, now, "the journey loops without waiting")
            break
        enrollment.step_id = target
        target = enter(enrollment, step, now=now, rules=rules)
    enrollment.save()


def wait_until(step: dict, now: datetime, rules: ActivationSettings) -> datetime:
    """When a wait step entered at ``now`` ends: a time of day, or after its minutes."""
    if "until" in step and TIME_OF_DAY.match(str(step["until"])):
        hour, minute = map(int, step["until"].split(":"))
        at = datetime.min.time().replace(hour=hour, minute=minute)
        return protection.next_time_of_day(now, at, protection.zone(rules))
    return now + timedelta(minutes=int(step.get("minutes") or 0))


def enter(enrollment: Enrollment, step: dict, *, now: datetime, rules: ActivationSettings):
    """Executes ``step`` on arrival; returns the next step id, None (the end) or STOP."""
    kind = step["type"]
    if kind == "wait":
        log(enrollment, step["id"], "waiting", now)
        return _wait(enrollment, step, wait_until(step, now, rules), now, "wait")
    if kind == "wait_for_event":
        enrollment.state = Enrollment.State.WAITING_EVENT
        enrollment.waiting_for = step["event"][:200]
        log(enrollment, step["id"], "waiting", now)
        return _wait(
            enrollment, step, now + timedelta(minutes=int(step["timeout_minutes"])), now, "event"
        )
    if kind == "branch":
        answer = "yes" if condition_holds(enrollment, step.get("condition") or {}, now) else "no"
        log(enrollment, step["id"], answer, now)
        return step.get(answer)
    if kind == "split":
        variant = choose_variant(enrollment, step)
        enrollment.variant = str(variant.get("name", ""))[:40]
        if variant.get("holdout"):
            enrollment.holdout = True
            log(enrollment, step["id"], "holdout", now)
        else:
            log(enrollment, step["id"], f"variant:{enrollment.variant}", now)
        return variant.get("next")
    if kind == "exit":
        log(enrollment, step["id"], "exited", now)
        finish(enrollment, Enrollment.State.EXITED, now, "reached an exit step")
        return STOP
    if kind in CHANNEL_OF:
        return act(enrollment, step, now=now, rules=rules)
    finish(enrollment, Enrollment.State.FAILED, now, f"unknown step type {kind}")
    return STOP


def condition_holds(enrollment: Enrollment, condition: dict, now: datetime) -> bool:
    if condition.get("type") == "event_since_entry":
        return ProfileEvent.objects.filter(
            profile_id=enrollment.profile_id,
            name=condition.get("name", ""),
            timestamp__gte=enrollment.entered_at,
        ).exists()

    profile = current_profile(enrollment.profile_id)
    if profile is None:
        return False
    return (
        active_profiles().filter(pk=profile.pk).filter(Compiler(now=now).node(condition)).exists()
    )


def bucket(enrollment_id: int, step_id: str) -> int:
    """0..99, the same for an enrollment at a step every time (no randomness to replay)."""
    digest = hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def choose_variant(enrollment: Enrollment, step: dict) -> dict:
    variants = [v for v in step.get("variants") or [] if isinstance(v, dict)]
    point, total = bucket(enrollment.pk, step["id"]), 0
    for variant in variants:
        total += int(variant.get("percent") or 0)
        if point < total:
            return variant
    return variants[-1] if variants else {}


# --- actions --------------------------------------------------------------------------

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
) -> int | None:
    """The step's Delivery, unless one exists already (then None: someone else sends)."""
    counts = channel in protection.MESSAGE_CHANNELS and status == Delivery.Status.PENDING
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


def act(enrollment: Enrollment, step: dict, *, now: datetime, rules: ActivationSettings):
    channel = CHANNEL_OF[step["type"]]
    if enrollment.holdout:
        log(enrollment, step["id"], "holdout", now)
        return step.get("next")
    messages = channel in protection.MESSAGE_CHANNELS  # its cap and quiet hours apply
    channel_rules = rules.for_channel(channel) if messages else None
    if messages:
        until = protection.quiet_until(now, channel_rules, protection.zone(rules))
        if until is not None:
            log(enrollment, step["id"], "quiet_hours", now)
            return _wait(enrollment, step, until, now, "quiet")
    profile = current_profile(enrollment.profile_id)
    destination = None
    if channel != Delivery.Channel.TRAIT:
        destination = Destination.objects.filter(pk=step.get("destination_id")).first()
    protection.lock_person(enrollment.profile_id)
    reason = ""
    if profile is None:
        reason = "the profile no longer exists"
    elif channel != Delivery.Channel.TRAIT and destination is None:
        reason = "the destination no longer exists"
    else:
        reason = protection.consent_problem(
            profile, channel, destination, action=str(step.get("action") or "")
        )
    if not reason and channel in EMAIL_CHANNELS:
        reason = address_problem(profile)
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
        template_id=step.get("template_id") if channel == Delivery.Channel.EMAIL else None,
        now=now,
    )
    if inserted and status == Delivery.Status.SENT:
        profile_services.set_trait(
            profile_id=profile.pk, key=step.get("key", ""), value=step.get("value")
        )
    log(enrollment, step["id"], "skipped" if reason else "done", now)
    return step.get("next")


EMAIL_CHANNELS = (Delivery.Channel.EMAIL, Delivery.Channel.ESP)
UNCONFIRMED = "e-mail address not confirmed yet (a confirmation e-mail was asked for)"


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


# --- events ---------------------------------------------------------------------------


def event_arrived(enrollment: Enrollment, *, now: datetime) -> None:
    """The awaited event came: on to the step's ``next`` (entered by the runner now)."""
    step = by_id(enrollment.campaign.steps or []).get(enrollment.step_id) or {}
    log(enrollment, enrollment.step_id, "event", now)
    enrollment.context = dict(enrollment.context or {})
    enrollment.context.pop(WAITING, None)
    enrollment.state, enrollment.waiting_for = Enrollment.State.ACTIVE, ""
    target = step.get("next")
    if target is None:
        finish(enrollment, Enrollment.State.COMPLETED, now)
    else:
        enrollment.step_id, enrollment.wake_at = target, now
    enrollment.save()


def waiting_since(enrollment: Enrollment) -> datetime | None:
    since = (enrollment.context or {}).get(WAITING, {}).get("since")
    return datetime.fromisoformat(since) if since else None


def convert(enrollment: Enrollment, *, at: datetime, now: datetime) -> None:
    """The goal was reached at ``at``: the journey ends as converted, and the deliveries
    sent within the conversion window before it count as converting."""
    window = timedelta(days=enrollment.campaign.conversion_window_days or 0)
    if enrollment.state in (Enrollment.State.ACTIVE, Enrollment.State.WAITING_EVENT):
        log(enrollment, enrollment.step_id, "converted", now)
        finish(enrollment, Enrollment.State.CONVERTED, now, "reached the goal")
    else:
        enrollment.state = Enrollment.State.CONVERTED
    enrollment.converted_at = at
    enrollment.save()
    Delivery.objects.filter(
        enrollment=enrollment,
        status=Delivery.Status.SENT,
        sent_at__gte=at - window,
        sent_at__lte=at,
        converted_at__isnull=True,
    ).update(converted_at=at)
