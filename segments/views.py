"""The segments list. The builder's pages are in builder/views.py, a segment's own pages
in detail_views.py."""

from __future__ import annotations

from django.template.response import TemplateResponse
from django.urls import reverse

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability

from .models import Segment


def detail_url(segment: Segment) -> str:
    return reverse("segments:detail", args=[segment.pk])


@requires(Cap.VIEW_SEGMENTS)
def index(request):
    segments = list(Segment.objects.order_by("name", "id"))
    for segment in segments:
        segment.url = detail_url(segment)
    context = {
        "segments": segments,
        "can_manage": has_capability(request.user, Cap.MANAGE_SEGMENTS),
    }
    return TemplateResponse(request, "segments/index.html", context)
