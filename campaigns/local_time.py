"""The time zone a person's clock is in, for time-of-day waits ("wait until 9:00"): the
same as quiet hours read (protection.recipient_zone): their time-zone trait, else the
``context.timezone`` of their newest recent event (analytics.js sends the browser's),
else the account's (ActivationSettings). A name that is no IANA zone is passed over,
never an error: a typo in one profile must not stop a journey."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from . import moves, protection
from .models import ActivationSettings


def person_zone(profile_id: int, rules: ActivationSettings) -> ZoneInfo:
    """The zone ``profile_id``'s local time is read in (the survivor's, if merged)."""
    return protection.recipient_zone(moves.current_profile(profile_id), rules)
