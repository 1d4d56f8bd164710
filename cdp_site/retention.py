"""What the scheduled purges share: a cutoff from a retention setting, and deleting in
batches so that a purge of millions of rows never holds one long transaction or lock.

Each app purges its own tables (integrations, campaigns); the settings and what each
keeps are listed in README.md's configuration table."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

BATCH_SIZE = 5000


def days(setting: str) -> int:
    return getattr(settings, setting)


def cutoff(setting: str, *, now: datetime | None = None) -> datetime | None:
    """``now`` minus the setting's days; None when the setting is 0 (keep forever)."""
    kept = days(setting)
    if not kept:
        return None
    return (now or timezone.now()) - timedelta(days=kept)


def delete_in_batches(queryset, *, batch_size: int = BATCH_SIZE) -> int:
    """Deletes the rows of ``queryset`` a batch of primary keys at a time, each batch in its
    own transaction; returns how many went."""
    model = queryset.model
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            deleted += model.objects.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)
