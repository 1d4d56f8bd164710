"""Profiles with no activity for RetentionSettings.inactive_years: anonymised or deleted.

Last activity: the latest of the profile's last event time (``last_seen_at``, its creation
when it has none) and its last change (``updated_at``: traits written, a merge). Only
surviving profiles are looked at; the profiles merged into one go with it.

- delete: the personal-data registry's erasure (cdp_site.personal_data.erase_subject),
  every app's rows as for an erasure request, but no suppression: the person did not ask
  to be forgotten, and may come back as someone new.
- anonymise: the profile id stays (segment counts, journeys' results, revenue and the
  events that are still within their retention keep pointing at it); what names the
  person goes: identifier values (replaced by ``anonymised-<id>``, since events keep
  their identity), trait values and their history, consent records, notes, e-mail
  confirmations and the display name.
"""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from cdp_site.personal_data import Subject, erase_subject

from ..models import (
    ConsentRecord,
    EmailConfirmation,
    Note,
    Profile,
    RetentionSettings,
    TraitValue,
)
from ..privacy.selectors import PROFILE_ID, subject_for

BATCH = 100  # profiles per transaction


def cutoff(row: RetentionSettings, now: datetime) -> datetime | None:
    return now - relativedelta(years=row.inactive_years) if row.inactive_years else None


def inactive(row: RetentionSettings, now: datetime):
    """The surviving profiles inactive since before the cutoff (none when it is 0)."""
    before = cutoff(row, now)
    if before is None:
        return Profile.objects.none()
    last = Greatest(Coalesce("last_seen_at", "created_at"), F("updated_at"))
    return (
        Profile.objects.filter(merged_into__isnull=True)
        .alias(last_activity=last)
        .filter(last_activity__lt=before)
    )


def count(row: RetentionSettings, now: datetime) -> int:
    return inactive(row, now).count()


def apply(row: RetentionSettings, now: datetime) -> int:
    """Anonymises or deletes the inactive profiles, BATCH at a time (each batch in its own
    transaction, at most RETENTION_PROFILES_PER_RUN a run); returns how many."""
    limit = settings.RETENTION_PROFILES_PER_RUN
    ids = list(inactive(row, now).order_by("pk").values_list("pk", flat=True)[:limit])
    act = delete if row.inactive_action == RetentionSettings.InactiveAction.DELETE else anonymise
    for at in range(0, len(ids), BATCH):
        act(ids[at : at + BATCH])
    return len(ids)


def _subject(profile_ids: list[int]) -> Subject:
    """One subject for the batch: each profile, the ones merged into it, their identifiers."""
    ids, identifiers = set(), set()
    for pk in profile_ids:
        one = subject_for(PROFILE_ID, str(pk))
        ids |= set(one.profile_ids)
        identifiers |= set(one.identifiers)
    return Subject(profile_ids=tuple(sorted(ids)), identifiers=tuple(sorted(identifiers)))


def delete(profile_ids: list[int]) -> None:
    erase_subject(_subject(profile_ids))


ANONYMISE_IDENTITIES = """
UPDATE profiles_identity SET value = 'anonymised-' || id
WHERE profile_id = ANY(%s) AND value NOT LIKE 'anonymised-%%'
"""


@transaction.atomic
def anonymise(profile_ids: list[int]) -> None:
    subject = _subject(profile_ids)
    ids = list(subject.profile_ids)
    EmailConfirmation.objects.filter(address__in=subject.values("email")).delete()
    for model in (TraitValue, ConsentRecord, Note):
        model.objects.filter(profile_id__in=ids).delete()
    with connection.cursor() as cursor:
        cursor.execute(ANONYMISE_IDENTITIES, [ids])
    # updated_at: the anonymisation is the profile's last change: not picked again for years
    Profile.objects.filter(pk__in=ids).update(
        display_name="", traits={}, consent={}, updated_at=timezone.now()
    )
