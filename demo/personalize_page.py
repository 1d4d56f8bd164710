"""The demo's example of the personalisation API: a page of the demo webshop whose
banner follows the visitor's journey stage (cdp.personalize() in static/cdp.js).

Served in demo mode only (cdp_site/urls.py mounts demo/urls.py then). The buttons send
what moves a person through the stages (a page view, a product view, an add to cart, an
order); processing sets the stage, the personalisation cache follows within seconds, and
the page asks again. ``ensure_demo_personalization`` (run with the demo segments) makes
the webshop source show the stage and two segments, for pages of the demo's own origin.
"""

import html

from django.http import Http404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe

from campaigns.personalization import settings as personalization
from cdp_site.access import public
from integrations.models import Source
from segments.models import Segment

from .sources import DEMO_SOURCES
from .views import demo_only

ON_SITE = ("Cart abandoners, last 7 days", "High-value customers")
# What the banner says per stage: what a shop would show someone at that point.
BANNERS = {
    "orientation": ("A guide to choosing your first trail shoes", "Read the guide"),
    "consideration": ("Compare our three best-selling jackets side by side", "Compare"),
    "acquisition": ("Your cart is waiting: free shipping ends tonight", "Go to the cart"),
    "retention": ("Members get 10% back on every order", "See your loyalty points"),
}


def webshop() -> Source | None:
    name = next(s.name for s in DEMO_SOURCES if s.key == "website")
    return Source.objects.filter(name=name, archived_at=None).order_by("id").first()


def ensure_demo_personalization(*, origins=()) -> None:
    """The webshop source shows the stage and the demo's on-site segments (idempotent)."""
    source = webshop()
    if source is None:
        return
    segments = Segment.objects.filter(name__in=ON_SITE)
    segments.update(on_site=True)
    personalization.save_settings(
        source=source,
        segment_ids=list(segments.values_list("pk", flat=True)),
        traits=["firstName"],
        stage=True,
        origins=list(origins) or list(source.personalize_origins),
    )


def render_shop(request, *, write_key: str, host: str):
    """The shop page with the loader exactly as a source's page shows it (the same
    partial, unescaped as a person copying it gets it), its script under the page's nonce."""
    shown = render_to_string(
        "integrations/source_detail.html#loader",
        {"source": {"write_key": write_key}, "host": host},
    )
    loader = html.unescape(shown).replace("<script>", f'<script nonce="{request.csp_nonce}">', 1)
    context = {"loader": mark_safe(loader), "banners": BANNERS}  # noqa: S308 (our template)
    return TemplateResponse(request, "demo/personalize.html", context)


@public("the demo's example shop page (demo mode only)")
@demo_only
def shop_page(request):
    source = webshop()
    if source is None:
        raise Http404("The demo webshop source does not exist yet: run the demo loader.")
    return render_shop(
        request, write_key=source.write_key, host=request.build_absolute_uri("/").rstrip("/")
    )
