"""Writes on audience syncs that people make (pages, API): create one, ask for a full
upload ("resync everything", which also resumes a paused or broken sync); a paused sync
also resumes by itself once an admin enters new credentials for its destination.

Other apps may call ``create_sync`` and ``request_full``.
"""

from __future__ import annotations

import re
import secrets

from django.db import connection, transaction

from cdp_site import audit
from integrations.destinations.audiences import SYNC_KINDS
from integrations.destinations.models import Destination
from segments.models import Membership, Segment

from .models import AudienceMember, AudienceSync

AUDIENCE_ID = re.compile(r"^\d{1,40}$")


class SyncError(Exception):
    """Bad input: ``field`` names it, ``message`` says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def check(*, name: str, segment, destination, audience_id: str) -> None:
    if not str(name or "").strip():
        raise SyncError("name", "Give the sync a name.")
    if not isinstance(segment, Segment):
        raise SyncError("segment", "Choose a segment.")
    if not isinstance(destination, Destination) or destination.kind not in SYNC_KINDS:
        raise SyncError(
            "destination", "Choose a Meta Custom Audience or Google Data Manager destination."
        )
    if not destination.enabled:
        raise SyncError("destination", f"{destination.name} is disabled.")
    if not AUDIENCE_ID.match(str(audience_id or "").strip()):
        raise SyncError(
            "audience_id",
            "The audience id is the number the platform shows for the audience "
            "(Meta: Ads Manager > Audiences; Google Ads: the Customer Match list's id).",
        )


@transaction.atomic
def create_sync(*, name: str, segment, destination, audience_id: str, created_by=None):
    check(name=name, segment=segment, destination=destination, audience_id=audience_id)
    sync = AudienceSync.objects.create(
        name=name.strip(),
        segment=segment,
        destination=destination,
        audience_id=str(audience_id).strip(),
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    audit.record(
        action="audience_sync.create",
        target=sync,
        details={"segment": segment.pk, "destination": destination.pk},
    )
    _queue_full(sync)
    return sync


@transaction.atomic
def request_full(*, sync: AudienceSync) -> int:
    """Every member (and everyone the audience holds) checked and sent again; a paused
    or broken sync is resumed. Returns how many people were queued."""
    sync = AudienceSync.objects.select_for_update().get(pk=sync.pk)
    sync.status, sync.status_message = AudienceSync.Status.ACTIVE, ""
    sync.attempts, sync.next_attempt_at = 0, None
    sync.save()
    audit.record(action="audience_sync.resync", target=sync)
    return _queue_full(sync)


COUNT_EVERYONE = """
SELECT count(*) FROM (
    SELECT profile_id FROM {membership} WHERE segment_id = %(segment)s
    UNION
    SELECT profile_id FROM {member} WHERE sync_id = %(sync)s
) AS everyone
"""  # noqa: S608 (the models' own table names; the values are parameters)


def _queue_full(sync: AudienceSync) -> int:
    """Starts a full upload (sync.py walks it); returns how many people it covers."""
    sql = COUNT_EVERYONE.format(
        membership=Membership._meta.db_table, member=AudienceMember._meta.db_table
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"sync": sync.pk, "segment": sync.segment_id})
        (everyone,) = cursor.fetchone()
    sync.full_after = 0
    # Meta's multi-part upload: one session for the whole full upload.
    sync.session = {
        "session_id": secrets.randbits(62),
        "batch_seq": 0,
        "estimated_num_total": everyone,
    }
    sync.save(update_fields=["full_after", "session"])
    return everyone


def resume_after_reconnect(destination) -> int:
    """Syncs paused on the destination's refused credentials go on: an admin entered new
    ones (registered with integrations' destinations). Returns how many resumed."""
    paused = AudienceSync.objects.filter(
        destination_id=destination.pk, status=AudienceSync.Status.PAUSED
    )
    resumed = 0
    for sync in paused:
        AudienceSync.objects.filter(pk=sync.pk, status=AudienceSync.Status.PAUSED).update(
            status=AudienceSync.Status.ACTIVE, status_message="", attempts=0, next_attempt_at=None
        )
        audit.record(action="audience_sync.resumed", target=sync, details={"reconnected": True})
        resumed += 1
    return resumed
