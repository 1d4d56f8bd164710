"""Hooks for privacy erasures (profiles/privacy/propagation.py): which destinations
received a person. Registered in CampaignsConfig.ready().

Segments' scheduled CSV exports are answered here too, beside the deliveries: campaigns is
the app above both that already registers the erasure's other hooks, and segments
registers none of its own yet (the function reads only segments' tables; it can move to
SegmentsConfig.ready() unchanged)."""

from datetime import datetime

from django.db.models import Q

from integrations.destinations.models import Destination
from segments.models import Membership, MembershipChange

from .models import Delivery


def destinations_reached(profile_ids: list[int]) -> list[int]:
    """The destinations a delivery to one of ``profile_ids`` went to, or may have gone to:
    sent, or attempted at least once (a webhook that timed out may still have arrived;
    asking a destination to delete someone it never got is harmless)."""
    attempted = Q(status__in=[Delivery.Status.SENT, Delivery.Status.DELIVERED]) | Q(attempts__gt=0)
    rows = Delivery.objects.filter(attempted, profile_id__in=profile_ids, destination__isnull=False)
    return list(rows.values_list("destination_id", flat=True).distinct())


def csv_exports_reached(profile_ids: list[int]) -> list[int]:
    """The CSV export destinations whose segment the person was in before its last
    export: a file written since may hold their row."""
    reached = []
    for destination in Destination.objects.filter(kind=Destination.Kind.CSV_EXPORT):
        config = destination.config or {}
        segment_id, last = config.get("segment_id"), config.get("last_export_at")
        if not segment_id or not last:
            continue
        last_at = datetime.fromisoformat(last)
        mine = {"segment_id": segment_id, "profile_id__in": profile_ids}
        entered = MembershipChange.objects.filter(
            change=MembershipChange.Change.ENTERED, at__lte=last_at, **mine
        )
        member = Membership.objects.filter(entered_at__lte=last_at, **mine)
        if entered.exists() or member.exists():
            reached.append(destination.pk)
    return reached
