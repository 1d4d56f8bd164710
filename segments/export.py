"""A segment's members as CSV, streamed.

``stream_csv(*, segment, chunk_size=2000) -> Iterator[str]``
    Yields the CSV text line by line (header first) for a ``StreamingHttpResponse``:
    ``profile_id, name, email, phone, stage, entered_at``, then one column per identifier
    kind (``id_<kind>``, several values joined by ``" | "``). ``email``/``phone`` are the
    profile's strongest such identifier, else its ``email``/``phone`` trait. Members are
    read in profile-id order through a server-side cursor (``iterator(chunk_size=...)``),
    and identities one chunk at a time: memory stays flat whatever the segment's size.
    Members whose profile has been merged away are left out (their survivor is in or out
    on its own). Cells a spreadsheet would run as a formula are prefixed with ``'``.

``filename(*, segment) -> str``
    A safe download name, e.g. ``segment-12-nl-browsers.csv``.

``check_download(*, user) / record_download(*, segment, via)``
    A person's download holds personal data in clear (names, e-mails, phones): only for
    a role that sees personal data (Cap.SEE_PERSONAL_DATA; refused with ``Refused``
    otherwise), and written to the audit trail.

``export_due_segments(*, now=None) -> int``
    Writes each due CSV-export destination's segment (``config.segment_id`` every
    ``config.every_hours``) through the destination's service, which receives plain rows.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from itertools import islice

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.text import slugify

from cdp_site import audit
from cdp_site.csvout import safe_cell
from cdp_site.permissions import Cap, has_capability
from integrations.destinations import services as destinations
from integrations.destinations.adapters import DestinationError
from profiles.models import IdentifierKind, Identity, Profile

from .models import Membership, Segment

logger = logging.getLogger(__name__)

FIXED = ["profile_id", "name", "email", "phone", "stage", "entered_at"]


def filename(*, segment: Segment) -> str:
    return f"segment-{segment.pk}-{slugify(segment.name)[:60] or 'members'}.csv"


REFUSED = (
    "The members' export holds personal data (names, e-mail addresses, phone numbers): "
    "your role is not granted to see personal data. Ask an admin to grant it."
)


class Refused(Exception):
    """A download the user's role may not make."""


def check_download(*, user) -> None:
    if not has_capability(user, Cap.SEE_PERSONAL_DATA):
        raise Refused(REFUSED)


@transaction.atomic
def record_download(*, segment: Segment, via: str) -> None:
    """The download in the audit trail: who took which segment's members, how many."""
    details = {"via": via, "members": segment.member_count}
    audit.record(action="segment.export", target=segment, details=details)


def _line(cells) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return buffer.getvalue()


def _members(segment: Segment, *, activation: bool = False):
    """The segment's members with what the CSV shows. ``activation`` (a scheduled export
    to a destination): without the people a privacy request restricted (the profile, or
    one merged into it), who are members of a segment that counts them
    (``include_restricted``)."""
    profile = Profile.objects.filter(pk=OuterRef("profile_id"))
    members = Membership.objects.filter(segment=segment).filter(
        Exists(profile.filter(merged_into__isnull=True))
    )
    if activation:
        restricted = Profile.objects.filter(restricted=True)
        members = members.exclude(Exists(restricted.filter(pk=OuterRef("profile_id")))).exclude(
            Exists(restricted.filter(merged_into_id=OuterRef("profile_id")))
        )
    return (
        members.annotate(
            name=Subquery(profile.values("display_name")[:1]),
            stage=Subquery(profile.values("stage")[:1]),
            traits=Subquery(profile.values("traits")[:1]),
        )
        .order_by("profile_id")
        .values_list("profile_id", "name", "stage", "entered_at", "traits")
    )


def _identities(profile_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    found: dict[int, dict[str, list[str]]] = {}
    rows = (
        Identity.objects.filter(profile_id__in=profile_ids)
        .order_by("profile_id", "-last_seen_at", "id")
        .values_list("profile_id", "kind__name", "value")
    )
    for profile_id, kind, value in rows:
        found.setdefault(profile_id, {}).setdefault(kind, []).append(value)
    return found


def stream_csv(
    *, segment: Segment, chunk_size: int = 2000, activation: bool = False
) -> Iterator[str]:
    kinds = list(IdentifierKind.objects.values_list("name", flat=True))
    yield _line(FIXED + [f"id_{kind}" for kind in kinds])
    rows = _members(segment, activation=activation).iterator(chunk_size=chunk_size)
    while chunk := list(islice(rows, chunk_size)):
        identities = _identities([row[0] for row in chunk])
        for profile_id, name, stage, entered_at, traits in chunk:
            ids = identities.get(profile_id, {})
            traits = traits if isinstance(traits, dict) else {}
            email = (ids.get("email") or [traits.get("email")])[0]
            phone = (ids.get("phone") or [traits.get("phone")])[0]
            yield _line(
                [profile_id, name, email, phone, stage, entered_at.isoformat()]
                + [" | ".join(ids.get(kind, [])) for kind in kinds]
            )


def export_due_segments(*, now=None) -> int:
    """Exports every due segment; one that fails is logged and the others go on."""
    now = now or timezone.now()
    done = 0
    for destination in destinations.due_exports(now=now):
        segment_id = destination.config["segment_id"]
        segment = Segment.objects.filter(pk=segment_id).first()
        if segment is None:
            logger.warning("destination %s: segment %s is gone", destination.pk, segment_id)
            continue
        name = f"{segment.name}-{now:%Y%m%dT%H%M%SZ}"
        try:
            rows = stream_csv(segment=segment, activation=True)
            destinations.export_rows(destination=destination, rows=rows, name=name, now=now)
        except DestinationError:
            logger.exception("scheduled export to %s failed", destination.pk)
            continue
        done += 1
    return done
