"""Hook for privacy erasures (profiles/privacy/propagation.py): which destinations
received a person. Registered in CampaignsConfig.ready()."""

from django.db.models import Q

from .models import Delivery


def destinations_reached(profile_ids: list[int]) -> list[int]:
    """The destinations a delivery to one of ``profile_ids`` went to, or may have gone to:
    sent, or attempted at least once (a webhook that timed out may still have arrived;
    asking a destination to delete someone it never got is harmless)."""
    attempted = Q(status=Delivery.Status.SENT) | Q(attempts__gt=0)
    rows = Delivery.objects.filter(attempted, profile_id__in=profile_ids, destination__isnull=False)
    return list(rows.values_list("destination_id", flat=True).distinct())
