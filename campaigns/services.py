"""Writes of campaigns: create and update (the journey validated), start, pause, resume,
finish, and enrolling one person (the entry rules). Keyword-only, transactional.

Interface for other parts:

- ``create_campaign(...)`` / ``update_campaign(campaign=..., **fields)``: raise
  ``CampaignError`` with ``errors`` = [{"field", "message"}] (journey fields as
  ``steps[2].timeout_minutes``).
- ``start_campaign(campaign=...)``: active; a broadcast enrols its segment's members now
  (or at ``scheduled_at``, by the runner). ``pause_campaign`` / ``resume_campaign`` /
  ``finish_campaign``.
- ``enroll(campaign=..., profile_id=..., context=...)``: one person in, if the entry rule
  lets them; the runner takes it from there.
- ``journey_counts(campaign=...)``: per step, how many passed each outcome and how many
  are there now; deliveries per step and status.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from cdp_site import debounce, retention
from cdp_site.field_errors import FieldErrors

from . import entry_conditions
from .journeys import grammar
from .models import (
    ActivationSettings,
    Campaign,
    ChannelRules,
    Delivery,
    Enrollment,
    MessageTemplate,
    StepLog,
    TriggerCursor,
)

RUN_TRIGGER = "cdp:campaigns:run-pending"
EDITABLE = {
    "name",
    "description",
    "kind",
    "segment",
    "trigger_event",
    "trigger_filters",
    "entry_audience",
    "entry",
    "cooldown_days",
    "scheduled_at",
    "goal_event",
    "conversion_window_days",
    "steps",
    "gallery_key",
}
OPEN = (Enrollment.State.ACTIVE, Enrollment.State.WAITING_EVENT)


def purge_step_logs(*, now: datetime | None = None) -> int:
    """Step logs of enrollments that ended more than CAMPAIGNS_STEP_LOG_RETENTION_DAYS ago.

    The log of people still in a journey stays whole, and so do enrollments, deliveries and
    conversions (sends, opens, conversions and the lift keep their full history); a
    journey's per-step counts then cover the people who left it within the window."""
    cutoff = retention.cutoff("CAMPAIGNS_STEP_LOG_RETENTION_DAYS", now=now)
    if cutoff is None:
        return 0
    ended = Enrollment.objects.filter(finished_at__lt=cutoff).values("pk")
    return retention.delete_in_batches(StepLog.objects.filter(enrollment_id__in=ended))


class CampaignError(FieldErrors):
    """A campaign that cannot be saved, started or deleted as asked."""


def check(campaign: Campaign) -> None:
    """Raises CampaignError listing what keeps the campaign from being saved."""
    errors = []
    try:
        grammar.validate(campaign.steps)
    except grammar.StepsError as error:
        errors.extend(error.errors)
    kind = campaign.kind
    if kind not in Campaign.Kind.values:
        errors.append({"field": "kind", "message": "Choose who enters the campaign."})
    if (
        kind
        in (Campaign.Kind.BROADCAST, Campaign.Kind.SEGMENT_ENTERED, Campaign.Kind.SEGMENT_EXITED)
        and campaign.segment_id is None
    ):
        errors.append({"field": "segment", "message": "Choose a segment."})
    if kind == Campaign.Kind.EVENT and not (campaign.trigger_event or "").strip():
        errors.append({"field": "trigger_event", "message": "Choose the event that starts it."})
    errors += _entry_condition_errors(campaign)
    if not errors:
        errors += message_errors(campaign)
    if campaign.entry not in Campaign.Entry.values:
        errors.append({"field": "entry", "message": "Choose how often someone may enter."})
    if campaign.entry == Campaign.Entry.COOLDOWN and not campaign.cooldown_days:
        errors.append({"field": "cooldown_days", "message": "Enter the days before re-entry."})
    if errors:
        raise CampaignError(errors)


def _entry_condition_errors(campaign: Campaign) -> list[dict]:
    errors = entry_conditions.filter_errors(campaign.trigger_filters)
    if campaign.trigger_filters and campaign.kind != Campaign.Kind.EVENT:
        message = "Property filters are for journeys an event starts."
        errors.append({"field": "trigger_filters", "message": message})
    errors += entry_conditions.audience_errors(campaign.entry_audience)
    if campaign.entry_audience and campaign.kind == Campaign.Kind.BROADCAST:
        message = "A broadcast goes to its segment: an entry audience is for triggered journeys."
        errors.append({"field": "entry_audience", "message": message})
    return errors


MESSAGE_STEPS = {
    "send_email": MessageTemplate.Channel.EMAIL,
    "send_sms": MessageTemplate.Channel.SMS,
}


def message_errors(campaign: Campaign) -> list[dict]:
    """Each message step sends a message of its channel; a transactional message (which
    needs no marketing consent) only from a journey an event starts, never to a segment."""
    steps = [(i, s) for i, s in enumerate(campaign.steps) if s.get("type") in MESSAGE_STEPS]
    ids = {s.get("template_id") for _, s in steps}
    templates = MessageTemplate.objects.in_bulk([pk for pk in ids if isinstance(pk, int)])
    errors = []
    for i, step in steps:
        template = templates.get(step.get("template_id"))
        if template is None:
            continue
        field = f"steps[{i}].template_id"
        if template.channel != MESSAGE_STEPS[step["type"]]:
            words = "an SMS" if step["type"] == "send_sms" else "an e-mail"
            errors.append({"field": field, "message": f"Choose {words} message."})
        elif template.transactional and campaign.kind != Campaign.Kind.EVENT:
            errors.append(
                {
                    "field": field,
                    "message": f"“{template.name}” is transactional: it needs no marketing "
                    "consent, so a broadcast or a segment's campaign cannot send it. Choose "
                    "a marketing message, or start the journey with an event.",
                }
            )
    return errors


@transaction.atomic
def create_campaign(*, name: str, kind: str, steps: list, created_by=None, **fields) -> Campaign:
    unknown = set(fields) - EDITABLE
    if unknown:
        raise TypeError(f"unknown campaign fields {sorted(unknown)}")
    campaign = Campaign(name=name, kind=kind, steps=steps, created_by=created_by, **fields)
    check(campaign)
    campaign.save()
    return campaign


@transaction.atomic
def update_campaign(*, campaign: Campaign, **fields) -> Campaign:
    unknown = set(fields) - EDITABLE
    if unknown:
        raise TypeError(f"unknown campaign fields {sorted(unknown)}")
    for key, value in fields.items():
        setattr(campaign, key, value)
    check(campaign)
    campaign.save()
    return campaign


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


@transaction.atomic
def start_campaign(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Active from now on. Segment and event triggers enrol what happens from now; a
    broadcast enrols its segment's members now, or at ``scheduled_at``."""
    now = now or timezone.now()
    locked = _locked(campaign)
    check(locked)
    if locked.status != Campaign.Status.DRAFT:
        raise CampaignError([{"field": "status", "message": "Only a draft can be started."}])
    locked.status, locked.started_at = Campaign.Status.ACTIVE, now
    locked.save(update_fields=["status", "started_at", "updated_at"])
    if locked.kind == Campaign.Kind.BROADCAST and (
        locked.scheduled_at is None or locked.scheduled_at <= now
    ):
        enroll_broadcast(campaign=locked, now=now)
    campaign.status, campaign.started_at = locked.status, locked.started_at
    return locked


def _set_status(campaign: Campaign, status: str, allowed: set) -> Campaign:
    locked = _locked(campaign)
    if locked.status not in allowed:
        message = f"A {locked.status} campaign can't be {status}."
        raise CampaignError([{"field": "status", "message": message}])
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    campaign.status = status
    return locked


@transaction.atomic
def pause_campaign(*, campaign: Campaign) -> Campaign:
    """Nobody enters and nobody moves; enrollments keep their place and timers."""
    return _set_status(campaign, Campaign.Status.PAUSED, {Campaign.Status.ACTIVE})


@transaction.atomic
def resume_campaign(*, campaign: Campaign) -> Campaign:
    """Active again: timers that came due while paused run at once."""
    locked = _set_status(campaign, Campaign.Status.ACTIVE, {Campaign.Status.PAUSED})
    transaction.on_commit(queue_run)
    return locked


@transaction.atomic
def finish_campaign(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Ends the campaign: open enrollments exit."""
    now = now or timezone.now()
    locked = _set_status(
        campaign, Campaign.Status.FINISHED, {Campaign.Status.ACTIVE, Campaign.Status.PAUSED}
    )
    Enrollment.objects.filter(campaign=locked, state__in=OPEN).update(
        state=Enrollment.State.EXITED,
        finished_at=now,
        wake_at=None,
        exit_reason="the campaign finished",
    )
    return locked


def deletion_problem(*, campaign: Campaign) -> str:
    """Why ``campaign`` may not be deleted now ('' when it may)."""
    if campaign.status == Campaign.Status.ACTIVE:
        return "An active campaign can't be deleted: pause or finish it first."
    return ""


@transaction.atomic
def delete_campaign(*, campaign: Campaign) -> None:
    """Deletes the campaign with its enrollments, deliveries and results; refused while
    it is active (pause or finish it first)."""
    locked = _locked(campaign)
    problem = deletion_problem(campaign=locked)
    if problem:
        raise CampaignError([{"field": "status", "message": problem}])
    locked.delete()


def queue_run() -> None:
    debounce.queue_once(RUN_TRIGGER, "campaigns.tasks.run_due_steps", seconds=5)


# --- entering -------------------------------------------------------------------------


def may_enter(campaign: Campaign, profile_id: int, now: datetime) -> bool:
    previous = Enrollment.objects.filter(campaign=campaign, profile_id=profile_id)
    if campaign.entry == Campaign.Entry.ONCE:
        return not previous.exists()
    if campaign.entry == Campaign.Entry.COOLDOWN:
        since = now - timedelta(days=campaign.cooldown_days or 0)
        return not previous.filter(entered_at__gt=since).exists()
    return True


def _lock_entry(campaign_id: int, profile_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [campaign_id % 2**31, profile_id % 2**31]
        )


@transaction.atomic
def enroll(
    *, campaign: Campaign, profile_id: int, context: dict | None = None, now: datetime | None = None
) -> Enrollment | None:
    """Enrols one person when the campaign is active and its entry rule (once ever,
    every time, or not again within the cooldown) lets them; None otherwise."""
    now = now or timezone.now()
    if campaign.status != Campaign.Status.ACTIVE:
        return None
    _lock_entry(campaign.pk, profile_id)
    if not may_enter(campaign, profile_id, now):
        return None
    enrollment = Enrollment.objects.create(
        campaign=campaign,
        profile_id=profile_id,
        state=Enrollment.State.ACTIVE,
        step_id="",
        wake_at=now,
        context=context or {},
        entered_at=now,
    )
    transaction.on_commit(queue_run)
    return enrollment


BROADCAST_SQL = """
INSERT INTO campaigns_enrollment (campaign_id, profile_id, state, step_id, wake_at,
    waiting_for, variant, holdout, context, entered_at, exit_reason, attempts, last_error)
SELECT %(campaign)s, m.profile_id, 'active', '', %(now)s, '', '', false,
       '{"trigger": "broadcast"}'::jsonb, %(now)s, '', 0, ''
FROM segments_membership m
WHERE m.segment_id = %(segment)s
  AND NOT EXISTS (SELECT 1 FROM campaigns_enrollment e
                  WHERE e.campaign_id = %(campaign)s AND e.profile_id = m.profile_id)
"""


def broadcast_marker(campaign: Campaign) -> str:
    return f"broadcast:{campaign.pk}"


@transaction.atomic
def enroll_broadcast(*, campaign: Campaign, now: datetime | None = None) -> int:
    """A broadcast's one enrolment of its segment's current members (once: a marker row
    says it was done, so a second call or a replayed task enrols nobody)."""
    now = now or timezone.now()
    marker, created = TriggerCursor.objects.get_or_create(name=broadcast_marker(campaign))
    if not created:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            BROADCAST_SQL, {"campaign": campaign.pk, "segment": campaign.segment_id, "now": now}
        )
        count = cursor.rowcount
    marker.last_id = count
    marker.save(update_fields=["last_id"])
    transaction.on_commit(queue_run)
    return count


# --- counts ---------------------------------------------------------------------------


def _blank() -> dict:
    return {"outcomes": {}, "now": 0, "deliveries": {}}


def journey_counts(*, campaign: Campaign) -> dict:
    """{"steps": {step_id: {"outcomes": {outcome: n}, "now": n, "deliveries": {status: n}}},
    "states": {state: n}, "enrolled": n, "converted": n}"""
    steps: dict[str, dict] = {
        s["id"]: _blank() for s in campaign.steps or [] if isinstance(s, dict) and "id" in s
    }
    for step_id, outcome, n in (
        StepLog.objects.filter(campaign=campaign)
        .values_list("step_id", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    ):
        steps.setdefault(step_id, _blank())["outcomes"][outcome] = n
    states: dict[str, int] = {}
    for step_id, state, n in (
        Enrollment.objects.filter(campaign=campaign)
        .values_list("step_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    ):
        states[state] = states.get(state, 0) + n
        if state in OPEN and step_id in steps:
            steps[step_id]["now"] += n
    for step_id, status, n in (
        Delivery.objects.filter(campaign=campaign)
        .values_list("step_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        steps.setdefault(step_id, _blank())["deliveries"][status] = n
    return {
        "steps": steps,
        "states": states,
        "enrolled": sum(states.values()),
        "converted": states.get(Enrollment.State.CONVERTED, 0),
    }


# --- protection: each channel's frequency cap and quiet hours ----------------------------

RULE_FIELDS = ("max_messages", "per_days", "quiet_start", "quiet_end")
MAX_PER_DAYS = 365


def _rules_errors(channel: str, values: dict) -> list[dict]:
    where = f"channels.{channel}"
    if channel not in ChannelRules.Channel.values:
        return [
            {"field": where, "message": "Only e-mail, SMS and webhooks have caps and quiet hours."}
        ]
    errors = []
    cap, days = values.get("max_messages"), values.get("per_days")
    if cap is not None and cap < 0:
        errors.append({"field": f"{where}.max_messages", "message": "Enter 0 or more."})
    if days is None or not 1 <= days <= MAX_PER_DAYS:
        message = f"Enter a number of days from 1 to {MAX_PER_DAYS}."
        errors.append({"field": f"{where}.per_days", "message": message})
    start, end = values.get("quiet_start"), values.get("quiet_end")
    if (start is None) != (end is None):
        missing = "quiet_end" if end is None else "quiet_start"
        message = "Give both ends of the quiet hours, or neither."
        errors.append({"field": f"{where}.{missing}", "message": message})
    elif start is not None and start == end:
        message = "Quiet hours that start and end at the same time are none: leave both empty."
        errors.append({"field": f"{where}.quiet_end", "message": message})
    return errors


@transaction.atomic
def save_protection(*, time_zone: str, channels: dict[str, dict]) -> ActivationSettings:
    """Saves the time zone and each given channel's rules (``max_messages``: None for no
    cap; ``per_days``; ``quiet_start`` and ``quiet_end``: both or neither); channels left
    out keep theirs. Raises CampaignError with every problem at its field
    (``channels.email.quiet_end``); nothing is saved then. The engine reads the rules
    at its next run."""
    errors = []
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"Unknown time zone {time_zone!r}: use a name such as Europe/Paris."
        errors.append({"field": "time_zone", "message": message})
    for channel, values in channels.items():
        errors += _rules_errors(channel, values)
    if errors:
        raise CampaignError(errors)
    settings = ActivationSettings.objects.select_for_update().get_or_create(pk=1)[0]
    settings.time_zone = time_zone
    settings.save(update_fields=["time_zone"])
    for channel, values in channels.items():
        ChannelRules.objects.update_or_create(
            channel=channel, defaults={name: values.get(name) for name in RULE_FIELDS}
        )
    return ActivationSettings.load()
