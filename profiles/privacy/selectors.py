"""Reads of privacy requests: whom an identifier names (``subject_for``), normalised as
identity resolution normalises it, and the request lists."""

from __future__ import annotations

from django.db import connection

from cdp_site.personal_data import Subject

from .. import defaults
from ..identifiers import load_rules, normalize
from ..models import IdentifierKind, Identity, PrivacyRequest, Profile, PropagationJob
from ..selectors import MAX_CHAIN, surviving_profile

PROFILE_ID = "profile_id"  # a profile's own id, besides the identifier kinds of the rules


def identifier_kinds() -> list[tuple[str, str]]:
    """(name, label) of what a request may name a person by."""
    defaults.ensure_installed()
    kinds = [(k.name, k.label) for k in IdentifierKind.objects.all()]
    return [*kinds, (PROFILE_ID, "Profile id")]


def normalised(kind: str, raw: str) -> str | None:
    """The value as identity resolution stores it, None when it cannot be one (not an
    e-mail address, a blocked value, an unknown kind)."""
    raw = (raw or "").strip()
    if kind == PROFILE_ID:
        return raw if raw.isdigit() and len(raw) < 19 else None
    rules = load_rules()
    rule = rules.kinds.get(kind)
    if rule is None:
        return None
    value, _ = normalize(rule, raw, rules)
    return value


def _start(kind: str, value: str) -> Profile | None:
    if kind == PROFILE_ID:
        return surviving_profile(profile_id=int(value))
    identity = Identity.objects.filter(kind__name=kind, value=value).first()
    return surviving_profile(profile_id=identity.profile_id) if identity else None


def _merged_into(survivor_id: int) -> set[int]:
    """The survivor and every profile merged into it, through any chain of merges."""
    found, frontier = {survivor_id}, [survivor_id]
    for _ in range(MAX_CHAIN):
        if not frontier:
            break
        below = Profile.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)
        below = set(below)
        frontier = list(below - found)
        found |= below
    return found


def subject_for(kind: str, value: str) -> Subject:
    """The person ``kind``/``value`` (normalised) names: the profile it leads to now (a
    merged profile leads to its survivor), every profile merged into that one, and all
    their identifiers. Nobody known: a subject with no profile, holding only the given
    identifier (events never resolved, an address awaiting confirmation may still carry
    it)."""
    start = _start(kind, value)
    if start is None:
        given = () if kind == PROFILE_ID else ((kind, value),)
        return Subject(profile_ids=(), identifiers=given)
    ids = _merged_into(start.pk)
    identities = set(Identity.objects.filter(profile_id__in=ids).values_list("kind__name", "value"))
    if kind != PROFILE_ID:
        identities.add((kind, value))
    return Subject(profile_ids=tuple(sorted(ids)), identifiers=tuple(sorted(identities)))


def requests():
    return PrivacyRequest.objects.select_related("requested_by")


def propagation_jobs(request: PrivacyRequest):
    """The erasure's jobs at the destinations that received the person, in order made."""
    return PropagationJob.objects.filter(request=request).select_related("handled_by")


def jobs_busy(jobs) -> bool:
    """Whether a worker still has work on one of ``jobs`` (the page polls meanwhile)."""
    Status = PropagationJob.Status
    return any(job.status in (Status.PENDING, Status.RUNNING, Status.FAILED) for job in jobs)


# The profile or any profile merged into it (at any depth) restricted by a request: a
# restricted person who merges later stays restricted, without every merge path knowing.
RESTRICTED_FAMILY = """
WITH RECURSIVE family(id) AS (
    SELECT %s::bigint
    UNION
    SELECT p.id FROM profiles_profile p JOIN family f ON p.merged_into_id = f.id
)
SELECT EXISTS (SELECT 1 FROM profiles_profile p JOIN family f ON p.id = f.id WHERE p.restricted)
"""


def is_restricted(profile: Profile) -> bool:
    """Whether a privacy request restricted this person (for campaigns: act on nothing).
    ``profile``: the active profile."""
    if profile.restricted:
        return True
    with connection.cursor() as cursor:
        cursor.execute(RESTRICTED_FAMILY, [profile.pk])
        return cursor.fetchone()[0]
