"""Reads of segments for the dashboard (insights' home page reads the sizes; the count
of segments failing to compute is registered with cdp_site.health in
SegmentsConfig.ready). Segments are a small table; their size history (SizeSample) is
read per segment through its (segment, at) index. Other apps may use every function."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection

from .models import Segment, SizeSample

# Each segment's size now and its last sample at or before ``since`` (NULL: none, the
# segment is newer or was never computed before then).
SIZES = """
SELECT s.id, s.name, s.member_count, s.computed_at, b.size
FROM segments_segment s
LEFT JOIN LATERAL (
    SELECT x.size FROM segments_sizesample x
    WHERE x.segment_id = s.id AND x.at <= %(since)s ORDER BY x.at DESC LIMIT 1
) b ON true
"""


def failing() -> int:
    return Segment.objects.exclude(compute_error="").count()


def largest_changes(*, since: datetime, limit: int = 5) -> list[dict]:
    """The ``limit`` segments whose size changed most since ``since`` (largest change in
    people first): [{"id", "name", "size", "before", "change", "computed_at",
    "samples": [(at, size), ...]}]; ``before`` is None for a segment without a size then
    (its change is its size). Segments that did not change are left out."""
    with connection.cursor() as cursor:
        cursor.execute(SIZES, {"since": since})
        rows = cursor.fetchall()
    found = [
        {
            "id": pk,
            "name": name,
            "size": size,
            "before": before,
            "change": size - (before or 0),
            "computed_at": computed_at,
        }
        for pk, name, size, computed_at, before in rows
    ]
    found = [f for f in found if f["change"]]
    found.sort(key=lambda f: (-abs(f["change"]), f["name"], f["id"]))
    found = found[:limit]
    samples = defaultdict(list)
    recent = SizeSample.objects.filter(segment_id__in=[f["id"] for f in found], at__gt=since)
    for segment_id, at, size in recent.order_by("at").values_list("segment_id", "at", "size"):
        samples[segment_id].append((at, size))
    for f in found:
        f["samples"] = samples[f["id"]]
    return found
