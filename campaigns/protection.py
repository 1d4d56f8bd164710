"""What protects people across every campaign: consent per channel, and each message
channel's frequency cap and quiet hours (ChannelRules, in ActivationSettings' time zone;
set on the campaigns' protection page and through the API).

- Consent: each channel needs one purpose (``CHANNEL_PURPOSE``); a webhook's purpose is
  set on its destination (``config["consent_purpose"]``, e-mail marketing when it names
  none). No current grant means the Delivery is skipped with a reason a marketer reads.
- Frequency cap: at most ``max_messages`` messages of a channel (Deliveries that count
  toward the cap and were not skipped or failed) per person in ``per_days``; none when
  ``max_messages`` is empty.
- Quiet hours: a channel's message due in its quiet hours waits until they end (it is
  not skipped); the engine keeps the enrollment at the step with ``wake_at`` = their end.
  They are read in the *recipient's* time zone when it is known (``recipient_zone``: a
  time-zone trait, else the newest event's ``context.timezone``), else in the settings'.
- Transactional messages (an order confirmation) need no marketing consent, count toward
  no cap and keep no quiet hours; only event-started journeys send them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.db.models import Q

from integrations.destinations.kinds import DEFAULT_PURPOSE
from profiles import selectors as profile_selectors
from profiles.consent import may_use
from profiles.models import ConsentPurpose

from .models import ActivationSettings, ChannelRules, Delivery

CHANNEL_PURPOSE = {
    Delivery.Channel.EMAIL: "email_marketing",
    Delivery.Channel.ESP: "email_marketing",
    Delivery.Channel.AUDIENCE: "advertising",
    Delivery.Channel.TRAIT: None,
    Delivery.Channel.SMS: "sms_marketing",
    # The default; each webhook destination names its own (config["consent_purpose"]).
    Delivery.Channel.WEBHOOK: DEFAULT_PURPOSE,
}
PURPOSE_WORDS = {
    "email_marketing": "e-mail marketing",
    "sms_marketing": "SMS marketing",
    "advertising": "advertising",
    "analytics": "analytics",
    "personalisation": "personalisation",
    "partner_sharing": "partner sharing",
}
# Channels whose messages reach a person: they count toward their cap and keep quiet hours.
MESSAGE_CHANNELS = {Delivery.Channel.EMAIL, Delivery.Channel.WEBHOOK, Delivery.Channel.SMS}
COUNTED = [
    Delivery.Status.PENDING,
    Delivery.Status.SENDING,
    Delivery.Status.SENT,
    Delivery.Status.DELIVERED,
]
# Traits that may say a person's time zone (an IANA name such as Europe/Paris).
TIME_ZONE_TRAITS = ("timezone", "timeZone", "time_zone")
FREQUENCY_CAP = "frequency cap"


def purpose_for(channel: str, destination=None, *, action: str = "") -> str | None:
    if channel == Delivery.Channel.WEBHOOK:
        chosen = (destination.config or {}).get("consent_purpose") if destination else None
        return chosen or DEFAULT_PURPOSE
    if channel in (Delivery.Channel.ESP, Delivery.Channel.AUDIENCE) and action in (
        "unsubscribe",
        "remove",
    ):
        return None  # taking someone off a list never needs their consent
    return CHANNEL_PURPOSE.get(channel)


def consent_purposes() -> list[tuple[str, str]]:
    """(slug, label) of every consent purpose: what a webhook destination may require."""
    return list(ConsentPurpose.objects.order_by("id").values_list("slug", "label"))


def consent_problem(profile, channel: str, destination=None, *, action: str = "") -> str:
    """'' when the channel may be used for this person, else the reason to skip."""
    purpose = purpose_for(channel, destination, action=action)
    if purpose is None or may_use(profile, purpose):
        return ""
    return f"no consent for {PURPOSE_WORDS.get(purpose, purpose.replace('_', ' '))}"


def lock_person(profile_id: int) -> None:
    """Serialises cap checks and inserts for one person across workers (until commit)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7341, profile_id % 2**31])


def over_cap(profile_id: int, *, now: datetime, rules: ChannelRules) -> bool:
    """Whether the person has had the channel's ``max_messages`` in its last ``per_days``."""
    if rules.max_messages is None:
        return False
    if rules.max_messages == 0:
        return True
    since = now - timedelta(days=rules.per_days or 1)
    counted = Delivery.objects.filter(
        Q(sent_at__gte=since) | Q(sent_at__isnull=True, created_at__gte=since),
        profile_id=profile_id,
        channel=rules.channel,
        counts_toward_cap=True,
        status__in=COUNTED,
    ).count()
    return counted >= rules.max_messages


def zone(rules: ActivationSettings):
    try:
        return ZoneInfo(rules.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _zone_named(name) -> ZoneInfo | None:
    if not isinstance(name, str) or not name.strip() or len(name) > 60:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def recipient_zone(profile, rules: ActivationSettings):
    """The person's own time zone: a time-zone trait, else the newest of their recent
    events' ``context.timezone``; the settings' zone when neither names a real one."""
    traits = (getattr(profile, "traits", None) or {}) if profile is not None else {}
    for key in TIME_ZONE_TRAITS:
        if found := _zone_named(traits.get(key)):
            return found
    saved = profile is not None and profile.pk is not None
    last = profile_selectors.last_event_time_zone(profile_id=profile.pk) if saved else ""
    return _zone_named(last) or zone(rules)


def next_time_of_day(now: datetime, at: time, tz) -> datetime:
    """The next moment (after ``now``, or now itself) the local clock in ``tz`` shows ``at``."""
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(now.tzinfo)


def quiet_until(now: datetime, rules: ChannelRules, tz) -> datetime | None:
    """The end of the channel's quiet hours (local time in ``tz``) ``now`` falls in, or
    None outside them."""
    start, end = rules.quiet_start, rules.quiet_end
    if start is None or end is None or start == end:
        return None
    clock = now.astimezone(tz).time()
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    return next_time_of_day(now, end, tz) if inside else None


def describe(rules: ChannelRules, time_zone: str) -> str:
    """The channel's rules in words, for the pages."""
    if rules.max_messages is None:
        cap = "no frequency cap"
    else:
        per = f"{rules.per_days} day{'s' if rules.per_days != 1 else ''}"
        cap = f"at most {rules.max_messages} per person in {per}"
    if rules.quiet_start is None or rules.quiet_end is None:
        return f"{cap}; no quiet hours"
    return f"{cap}; quiet hours {rules.quiet_start:%H:%M}–{rules.quiet_end:%H:%M} ({time_zone})"
