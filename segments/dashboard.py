"""The segments' dashboard tiles (registered in SegmentsConfig.ready): how many, and
those whose last computation failed (a small table: counted)."""

from django.db.models import Count, Q

from cdp_site.dashboard import Tile
from cdp_site.permissions import Cap

from .models import Segment


def tiles() -> list[Tile]:
    counts = Segment.objects.aggregate(
        total=Count("id"),
        lists=Count("id", filter=Q(kind=Segment.Kind.STATIC)),
        failing=Count("id", filter=~Q(compute_error="")),
    )
    link = {"url_name": "segments:index", "cap": Cap.VIEW_SEGMENTS}
    return [
        Tile(
            title="Segments",
            value=f"{counts['total']:,}",
            order=30,
            **link,
            detail=f"{counts['lists']:,} of them uploaded lists",
        ),
        Tile(
            title="Segments failing to compute",
            value=f"{counts['failing']:,}",
            health=True,
            ok=counts["failing"] == 0,
            detail="each says why on its page",
            **link,
        ),
    ]
