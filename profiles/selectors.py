"""Reads on profiles: search, the Customer 360 view and the timeline.

Every function takes keyword arguments and returns querysets or plain data. The search
and the timeline are written for large tables: each query follows an index and carries
a LIMIT, so that their cost depends on the page size, not on the number of profiles or
of a profile's events.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import F, Q
from django.db.models.functions import Lower

from cdp_site.counting import Count, bounded_count, count_rows

from . import attribution
from .masking import CLEAR, Masker
from .models import (
    ComputedTrait,
    ConsentPurpose,
    Identity,
    Merge,
    Note,
    Profile,
    ProfileEvent,
    TraitValue,
)

# The page's panels and the timeline live in their own modules; other apps register with
# them through profiles.selectors.
from .panels import panels_for, register_profile_panel  # noqa: F401
from .timeline import (  # noqa: F401
    KIND_LABELS,
    MAX_CHAIN,
    Item,
    TimelinePage,
    decode_cursor,
    encode_cursor,
    newest_after,
    register_timeline_source,
    timeline,
    timeline_kinds,
    timeline_sources,
)

# --- finding profiles -------------------------------------------------------------------


def surviving_profile(*, profile_id: int) -> Profile | None:
    """The active profile ``profile_id`` is, or was merged into (directly or through
    others): the one place other apps ask "who is this person now". None if unknown."""
    profile = Profile.objects.filter(pk=profile_id).first()
    for _ in range(MAX_CHAIN):
        if profile is None or profile.merged_into_id is None:
            return profile
        profile = Profile.objects.filter(pk=profile.merged_into_id).first()
    return None


def active_profile_id(*, profile_id: int) -> int | None:
    """The id of ``surviving_profile``, None if unknown."""
    profile = surviving_profile(profile_id=profile_id)
    return profile.pk if profile else None


def active_profiles():
    return Profile.objects.filter(merged_into__isnull=True)


@dataclass
class ProfilePage:
    profiles: list[Profile]
    next_cursor: str | None


def _page_cursor(profile: Profile) -> str:
    seen = profile.last_seen_at.isoformat() if profile.last_seen_at else "-"
    return base64.urlsafe_b64encode(f"{seen}|{profile.pk}".encode()).decode().rstrip("=")


def _after_page_cursor(cursor: str | None) -> Q | None:
    """Rows after the cursor in (last_seen_at DESC NULLS FIRST, id DESC) order; None for
    no or a malformed cursor (the first page)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        seen, pk = raw.split("|")
        pk = int(pk)
        at = None if seen == "-" else datetime.fromisoformat(seen)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if at is None:  # never seen (first in this order): the rest of those, then the others
        return Q(last_seen_at__isnull=True, pk__lt=pk) | Q(last_seen_at__isnull=False)
    # The redundant upper bound lets the profile_last_seen index start at the cursor.
    return Q(last_seen_at__lte=at) & (Q(last_seen_at__lt=at) | Q(last_seen_at=at, pk__lt=pk))


def profile_page(*, queryset, cursor: str | None = None, limit: int = 50) -> ProfilePage:
    """A page of ``queryset`` (profiles), most recently seen first, after ``cursor``.

    Keyset pagination along the profile_last_seen index: the cost of a page does not
    grow with how far the list has been read, and pages neither skip nor repeat rows
    while profiles keep changing."""
    after = _after_page_cursor(cursor)
    if after is not None:
        queryset = queryset.filter(after)
    rows = list(queryset.order_by(F("last_seen_at").desc(nulls_first=True), "-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return ProfilePage(profiles=rows, next_cursor=_page_cursor(rows[-1]) if more else None)


def count_profiles(*, queryset, filtered: bool) -> Count:
    """How many profiles the list holds, bounded (cdp_site.counting): exact up to 10,000;
    past that, the unfiltered list says about how many (table statistics) and a
    filtered one "more than 10,000"."""
    if filtered:
        return bounded_count(queryset)
    return count_rows(queryset, table=Profile._meta.db_table)


def emails_of(*, profile_ids) -> dict[int, str]:
    """Each profile's e-mail address as an identity (normalised: trimmed, lower-case),
    the most recently seen when it has several; profiles without one are left out."""
    emails: dict[int, str] = {}
    for profile_id, value in (
        Identity.objects.filter(profile_id__in=list(profile_ids), kind__name="email")
        .order_by("profile_id", "-last_seen_at", "-id")
        .values_list("profile_id", "value")
    ):
        emails.setdefault(profile_id, value)
    return emails


def search_profiles(*, q: str, limit: int = 20, masker: Masker = CLEAR) -> list[Profile]:
    """Active profiles with an identifier equal to or starting with ``q`` (any kind,
    case-insensitive), or whose display name starts with ``q``. Exact identifier matches
    come first, then the rest by most recently seen.

    For a viewer who sees personal data masked (``masker``), personal identifiers and a
    name made of personal traits are found by their whole value only: typing a prefix
    letter by letter must not spell out what the page masks.

    Both lookups are ``lower(col) LIKE 'prefix%'``, which the text_pattern_ops indexes
    identity_value_prefix and profile_name_prefix answer with an index range scan. There
    is deliberately no ORDER BY: a pattern-ops index cannot give the collation's order,
    so sorting would read every match of a one-letter prefix; unordered, the scan stops
    after ``limit`` rows (measured: < 10 ms for "a" at 1,000,000 profiles).
    """
    q = (q or "").strip().lower()
    if not q:
        return []
    # A phone number typed as "+33 6 12 ..." is stored in E.164: also try it compacted.
    variants = [q]
    compact = re.sub(r"[\s().\-/]", "", q)
    if compact != q and re.fullmatch(r"\+?\d+", compact):
        variants.append(compact)
    by_identity = []
    for variant in variants:
        by_identity += _identities_matching(variant, limit, masker)
    name_match = {"lower_name": q} if masker.masks_names else {"lower_name__startswith": q}
    by_name = list(
        Profile.objects.annotate(lower_name=Lower("display_name"))
        .filter(merged_into__isnull=True, **name_match)
        .order_by()
        .values_list("pk", flat=True)[:limit]
    )
    exact = {pid for pid, value in by_identity if value in variants}
    ids = [pid for pid, _ in by_identity] + by_name
    found = {p.pk: p for p in Profile.objects.filter(pk__in=set(ids))}
    # An identity always belongs to an active profile after a merge (its rows move), but
    # follow merged_into anyway: a search must never land on a merged profile.
    resolved: dict[int, Profile] = {}
    exact_resolved: set[int] = set()
    for pid in ids:
        profile = found.get(pid)
        if profile is None:
            continue
        if not profile.is_active:
            active = active_profile_id(profile_id=profile.pk)
            profile = Profile.objects.filter(pk=active).first() if active else None
            if profile is None:
                continue
        resolved[profile.pk] = profile
        if pid in exact:
            exact_resolved.add(profile.pk)

    def rank(profile: Profile):
        seen = profile.last_seen_at.timestamp() if profile.last_seen_at else 0.0
        return (profile.pk not in exact_resolved, -seen)

    return sorted(resolved.values(), key=rank)[:limit]


def _identities_matching(variant: str, limit: int, masker: Masker) -> list[tuple[int, str]]:
    """(profile id, lower-case value) of identities equal to or starting with ``variant``;
    those of the kinds ``masker`` masks only when equal."""
    identities = Identity.objects.annotate(lower_value=Lower("value")).order_by()
    if masker.clear or not masker.kinds:
        found = identities.filter(lower_value__startswith=variant)
        return list(found.values_list("profile_id", "lower_value")[:limit])
    personal = Q(kind__name__in=list(masker.kinds))
    exact = identities.filter(lower_value=variant).values_list("profile_id", "lower_value")
    prefix = identities.filter(lower_value__startswith=variant).exclude(personal)
    return list(exact[:limit]) + list(prefix.values_list("profile_id", "lower_value")[:limit])


def merge_candidates(
    *, q: str, exclude: int, limit: int = 10, masker: Masker = CLEAR
) -> list[Profile]:
    """Active profiles another one could be merged with: the profile ``q`` is the id of
    (or went into), else those a search for ``q`` finds (as ``masker``'s viewer may
    search); never ``exclude`` itself."""
    q = (q or "").strip()
    if q.isdigit():
        active = active_profile_id(profile_id=int(q))
        found = list(Profile.objects.filter(pk=active)) if active else []
    else:
        found = search_profiles(q=q, limit=limit + 1, masker=masker) if q else []
    return [p for p in found if p.pk != exclude][:limit]


def merge_summary(*, profile: Profile) -> dict:
    """What a person compares before merging two profiles: who, what identifies them,
    how much history each has."""
    return {
        "profile": profile,
        "identities": identities_by_kind(profile=profile),
        "events": bounded_count(ProfileEvent.objects.filter(profile=profile), cap=1000),
        "email": emails_of(profile_ids=[profile.pk]).get(profile.pk, ""),
    }


# --- the Customer 360 view --------------------------------------------------------------


@dataclass
class SeenValue:
    value: object
    source: str
    source_id: int | None
    first_seen_at: datetime
    last_seen_at: datetime
    conflict: bool


@dataclass
class Trait:
    key: str
    value: object
    source: str = ""
    source_id: int | None = None
    at: datetime | None = None
    others: list[SeenValue] = field(default_factory=list)

    @property
    def has_conflict(self) -> bool:
        return any(o.conflict for o in self.others)


def _source_name(row: TraitValue) -> str:
    return row.source.name if row.source_id and row.source else "Entered by a person"


def traits_with_provenance(*, profile: Profile) -> list[Trait]:
    """For each trait: the current value (profile.traits), the source and time that
    stated it, and every other value seen with its source, time and conflict flag."""
    rows = list(
        TraitValue.objects.filter(profile=profile)
        .select_related("source")
        .order_by("key", "-last_seen_at", "-id")
    )
    by_key: dict[str, list[TraitValue]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    current = profile.traits or {}
    traits = []
    for key in sorted(set(current) | set(by_key)):
        seen = by_key.get(key, [])
        trait = Trait(key=key, value=current.get(key))
        winner = None
        if key in current:
            candidates = [r for r in seen if not r.conflict and r.value == current[key]]
            # The same value stated by several sources: credit the strongest, then latest.
            candidates.sort(
                key=lambda r: (
                    -(r.source.priority if r.source_id and r.source else 10**6),
                    -r.last_seen_at.timestamp(),
                )
            )
            winner = candidates[0] if candidates else None
        if winner is not None:
            trait.source, trait.source_id, trait.at = (
                _source_name(winner),
                winner.source_id,
                winner.last_seen_at,
            )
        for row in seen:
            if row is winner:
                continue
            trait.others.append(
                SeenValue(
                    value=row.value,
                    source=_source_name(row),
                    source_id=row.source_id,
                    first_seen_at=row.first_seen_at,
                    last_seen_at=row.last_seen_at,
                    conflict=row.conflict,
                )
            )
        traits.append(trait)
    return traits


def identities_by_kind(*, profile: Profile) -> list[tuple[str, list[Identity]]]:
    grouped: dict[str, list[Identity]] = defaultdict(list)
    order: dict[str, tuple] = {}
    for identity in (
        Identity.objects.filter(profile=profile)
        .select_related("kind", "source")
        .order_by("-kind__priority", "kind__name", "value")
    ):
        grouped[identity.kind.label].append(identity)
        order.setdefault(identity.kind.label, (-identity.kind.priority, identity.kind.name))
    return [(label, grouped[label]) for label in sorted(grouped, key=order.__getitem__)]


def consent_states(*, profile: Profile) -> list[dict]:
    """Each purpose with the profile's current status ("" when never stated)."""
    states = profile.consent or {}
    out = []
    for purpose in ConsentPurpose.objects.all():
        state = states.get(purpose.slug) or {}
        out.append(
            {
                "purpose": purpose.slug,
                "label": purpose.label,
                "status": state.get("status", ""),
                "at": state.get("at"),
                "source_id": state.get("source_id"),
            }
        )
    return out


def computed_values(*, profile: Profile) -> list[dict]:
    labels = {**attribution.KEY_LABELS, **dict(ComputedTrait.objects.values_list("key", "label"))}
    computed = profile.computed or {}
    return [
        {"key": key, "label": labels.get(key, key), "value": computed[key]}
        for key in sorted(computed, key=lambda k: labels.get(k, k).lower())
    ]


def merges_of(*, profile_id: int | None = None):
    qs = Merge.objects.select_related("survivor", "merged", "actor", "undone_by", "identity__kind")
    if profile_id is not None:
        qs = qs.filter(Q(survivor_id=profile_id) | Q(merged_id=profile_id))
    return qs.order_by("-created_at", "-id")


def notes_of(*, profile: Profile, limit: int = 20) -> list[Note]:
    return list(Note.objects.filter(profile=profile).select_related("author")[:limit])


def profile_detail(*, profile: Profile) -> dict:
    """Everything the Customer 360 page and the API detail show, as plain data."""
    return {
        "profile": profile,
        "identities": identities_by_kind(profile=profile),
        "traits": traits_with_provenance(profile=profile),
        "consent": consent_states(profile=profile),
        "computed": computed_values(profile=profile),
        "merges": list(merges_of(profile_id=profile.pk)[:50]),
        "notes": notes_of(profile=profile),
    }


# --- the timeline -----------------------------------------------------------------------


def events_of(*, profile: Profile):
    return ProfileEvent.objects.filter(profile=profile).select_related("source")


# --- reaching a person ------------------------------------------------------------------

# The newest of a person's recent events whose context says its time zone (Segment's
# ``context.timezone``): ProfileEvent keeps only the campaign and page of a context, so the
# raw payload is read, for the last few events only (an index on the profile and time).
LAST_TIME_ZONE = """
SELECT e.payload -> 'context' ->> 'timezone'
FROM (SELECT event_id, received_at, timestamp FROM profiles_profileevent
      WHERE profile_id = %s ORDER BY timestamp DESC LIMIT 20) pe
JOIN integrations_event e ON e.id = pe.event_id AND e.received_at = pe.received_at
WHERE e.payload -> 'context' ->> 'timezone' IS NOT NULL
ORDER BY pe.timestamp DESC LIMIT 1
"""


def last_event_time_zone(*, profile_id: int) -> str:
    """The time zone the person's newest recent event was sent from, or ''."""
    with connection.cursor() as cursor:
        cursor.execute(LAST_TIME_ZONE, [profile_id])
        row = cursor.fetchone()
    return str(row[0] or "") if row else ""


def profile_by_phone(*, number: str) -> Profile | None:
    """The profile (the survivor of merges) that holds ``number`` (E.164) as a phone
    identity, or as its phone trait; None when no one does."""
    identity = Identity.objects.filter(kind__name="phone", value=number).order_by("-id").first()
    if identity is not None:
        return surviving_profile(profile_id=identity.profile_id)
    return (
        Profile.objects.filter(merged_into__isnull=True, traits__phone=number)
        .order_by("-id")
        .first()
    )
