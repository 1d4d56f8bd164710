"""Reads for audience syncs: the list, one sync's status, and what uses a segment or a
destination (the usage checks that keep them from being deleted under a sync)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from .models import AudienceMember, AudienceSync


def syncs() -> QuerySet[AudienceSync]:
    return AudienceSync.objects.select_related("segment", "destination").annotate(
        pending_count=Count("pending", distinct=True)
    )


def status(sync: AudienceSync) -> dict:
    """What the status page and the API show about one sync."""
    return {
        "members_sent": sync.members_sent,
        "added": sync.added_total,
        "removed": sync.removed_total,
        "failed": sync.failed_total,
        "rejected_now": AudienceMember.objects.filter(
            sync=sync, state=AudienceMember.State.FAILED
        ).count(),
        "pending": sync.pending.count(),
        "full_upload": sync.full_after is not None,
        "match_rate": sync.match_rate,
        "last_error": sync.last_error,
        "last_error_at": sync.last_error_at,
        "last_run_at": sync.last_run_at,
        "last_success_at": sync.last_success_at,
        "next_attempt_at": sync.next_attempt_at,
    }


def syncs_using_destination(destination) -> list[str]:
    return [
        f"audience sync “{name}”"
        for name in AudienceSync.objects.filter(destination=destination).values_list(
            "name", flat=True
        )
    ]


def syncs_using_segment(segment) -> list[str]:
    return [
        f"audience sync “{name}”"
        for name in AudienceSync.objects.filter(segment=segment).values_list("name", flat=True)
    ]
