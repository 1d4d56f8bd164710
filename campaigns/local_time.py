"""The time zone a person's clock is in, for time-of-day waits ("wait until 9:00"): their
``timezone`` trait, else the ``context.timezone`` of their last events (analytics.js
sends the browser's), else the account's (ActivationSettings). A name that is no IANA
zone is passed over, never an error: a typo in one profile must not stop a journey."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations import selectors as integration_selectors
from profiles.models import ProfileEvent

from . import moves, protection
from .models import ActivationSettings

# The last few events are read (some senders leave the context out of server events).
RECENT_EVENTS = 5


def named_zone(name) -> ZoneInfo | None:
    if not isinstance(name, str) or not 0 < len(name) <= 60:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _from_events(profile_ids: set[int]) -> ZoneInfo | None:
    recent = list(
        ProfileEvent.objects.filter(profile_id__in=profile_ids)
        .order_by("-timestamp")
        .values_list("event_id", "received_at")[:RECENT_EVENTS]
    )
    names = integration_selectors.context_values(events=recent, key="timezone")
    for event_id, _ in recent:
        zone = named_zone(names.get(event_id))
        if zone is not None:
            return zone
    return None


def person_zone(profile_id: int, rules: ActivationSettings) -> ZoneInfo:
    """The zone ``profile_id``'s local time is read in (see the module's docstring)."""
    profile = moves.current_profile(profile_id)
    if profile is not None:
        zone = named_zone((profile.traits or {}).get("timezone"))
        if zone is not None:
            return zone
    ids = {profile_id} | ({profile.pk} if profile is not None else set())
    return _from_events(ids) or protection.zone(rules)
