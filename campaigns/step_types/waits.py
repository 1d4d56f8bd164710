"""Waiting steps: ``wait`` (a number of minutes, or until a time of day) and
``wait_for_event`` (until an event comes, at most a number of minutes)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from .. import moves, protection
from ..models import ActivationSettings, Enrollment
from .base import StepType, int_or_text, link, positive, posted, register, stripped, text_of

TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def wait_until(step: dict, now: datetime, rules: ActivationSettings, zone=None) -> datetime:
    """When a wait step entered at ``now`` ends: a time of day (in ``zone``, else the
    account's), or after its minutes."""
    if "until" in step and TIME_OF_DAY.match(str(step["until"])):
        hour, minute = map(int, step["until"].split(":"))
        at = datetime.min.time().replace(hour=hour, minute=minute)
        return protection.next_time_of_day(now, at, zone or protection.zone(rules))
    return now + timedelta(minutes=int(step.get("minutes") or 0))


@register
class Wait(StepType):
    """{"id", "type": "wait", "minutes": N, "next"} or {…, "until": "09:00", …} (the next
    time of day on the person's clock, the one quiet hours read: protection.recipient_zone)."""

    name, label = "wait", "Wait"
    fields = frozenset({"minutes", "until", "next"})
    defaults = {"minutes": 60}

    def check(self, path, step, errors):
        if ("minutes" in step) == ("until" in step):
            errors.append({"field": path, "message": "Wait a number of minutes or until a time."})
        elif "minutes" in step and not positive(step["minutes"]):
            errors.append(
                {"field": f"{path}.minutes", "message": "Enter a whole number of minutes."}
            )
        elif "until" in step and not (
            isinstance(step["until"], str) and TIME_OF_DAY.match(step["until"])
        ):
            errors.append({"field": f"{path}.until", "message": "Enter a time as HH:MM."})

    def read_fields(self, data, p, step):
        if posted(data, f"{p}.wait_mode") == "until":
            step["until"] = stripped(data.get(f"{p}.until"))
        else:
            step["minutes"] = int_or_text(data.get(f"{p}.minutes"))
        super().read_fields(data, p, step)

    def write_fields(self, step, p, data):
        data[f"{p}.wait_mode"] = "until" if "until" in step else "minutes"
        data[f"{p}.minutes"] = text_of(step.get("minutes"))
        data[f"{p}.until"] = text_of(step.get("until"))
        super().write_fields(step, p, data)

    def ends_at(self, step, now, rules):
        # A time of day ends at a different instant for each person's time zone: such a
        # wait is left to the engine, one enrollment at a time (no bulk move).
        return None if "until" in step else wait_until(step, now, rules)

    def run(self, enrollment, step, *, now, rules):
        moves.log(enrollment, step["id"], "waiting", now)
        zone = None
        if "until" in step:
            zone = protection.recipient_zone(moves.current_profile(enrollment.profile_id), rules)
        return moves.wait(enrollment, step, wait_until(step, now, rules, zone), now, "wait")

    def describe(self, step):
        if "until" in step:
            return f"until {step.get('until')}"
        minutes = step.get("minutes")
        if isinstance(minutes, int):
            if minutes % 1440 == 0:
                return f"{minutes // 1440} day{'s' if minutes != 1440 else ''}"
            if minutes % 60 == 0:
                return f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
        return f"{minutes} minutes"


@register
class WaitForEvent(StepType):
    """{"id", "type": "wait_for_event", "event": E, "timeout_minutes": N,
    "next": id (the event came), "timeout_next": id}. The trigger reader moves the
    enrollment on when the event comes (engine.event_arrived); the runner at the timeout."""

    name, label = "wait_for_event", "Wait for an event"
    fields = frozenset({"event", "timeout_minutes", "next", "timeout_next"})
    id_stem = "await"
    defaults = {"event": "", "timeout_minutes": 1440}
    single_next = False

    def links(self, step):
        return [("next", step.get("next")), ("timeout_next", step.get("timeout_next"))]

    def link_label(self, step, field):
        return (step.get("event") or "event") if field == "next" else "timed out"

    def check(self, path, step, errors):
        if not isinstance(step.get("event"), str) or not step["event"].strip():
            errors.append({"field": f"{path}.event", "message": "Choose the event to wait for."})
        if not positive(step.get("timeout_minutes")):
            errors.append(
                {
                    "field": f"{path}.timeout_minutes",
                    "message": "Enter how many minutes to wait at most.",
                }
            )

    def read_fields(self, data, p, step):
        step["event"] = stripped(data.get(f"{p}.event"))
        step["timeout_minutes"] = int_or_text(data.get(f"{p}.timeout_minutes"))
        super().read_fields(data, p, step)
        link(data, f"{p}.timeout_next", step, "timeout_next")

    def write_fields(self, step, p, data):
        data[f"{p}.event"] = text_of(step.get("event"))
        data[f"{p}.timeout_minutes"] = text_of(step.get("timeout_minutes"))
        data[f"{p}.timeout_next"] = text_of(step.get("timeout_next"))
        super().write_fields(step, p, data)

    def run(self, enrollment, step, *, now, rules):
        enrollment.state = Enrollment.State.WAITING_EVENT
        enrollment.waiting_for = step["event"][:200]
        moves.log(enrollment, step["id"], "waiting", now)
        until = now + timedelta(minutes=int(step["timeout_minutes"]))
        return moves.wait(enrollment, step, until, now, "event")

    def describe(self, step):
        return f"{step.get('event') or '?'} (at most {step.get('timeout_minutes')} min)"
