"""The campaigns' dashboard tile (registered in CampaignsConfig.ready): what is running."""

from django.db.models import Count, Q

from cdp_site.dashboard import Tile
from cdp_site.permissions import Cap

from .models import Campaign


def tiles() -> list[Tile]:
    counts = Campaign.objects.aggregate(
        active=Count("id", filter=Q(status=Campaign.Status.ACTIVE)),
        paused=Count("id", filter=Q(status=Campaign.Status.PAUSED)),
    )
    return [
        Tile(
            title="Active campaigns",
            value=f"{counts['active']:,}",
            order=40,
            detail=f"{counts['paused']:,} paused",
            url_name="campaigns:index",
            cap=Cap.VIEW_CAMPAIGNS,
        )
    ]
