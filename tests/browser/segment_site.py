"""Test-only URLs: the product plus a customer's page that runs Segment's own browser
library, analytics.js 2.0 (``@segment/analytics-next``, installed from npm by
scripts/ensure-node-modules), pointed at this server.

The library's UMD bundle and the chunks it may load lazily are served from this server
(the page tells the bundle so through ``window.analytics._cdn``), and its settings are
given inline (``cdnSettings``), so it never asks Segment's CDN for anything.
"""

import json
from pathlib import Path

from csp.decorators import csp_update
from django.http import Http404, HttpResponse
from django.urls import path
from django.views.static import serve

from cdp_site.access import public
from cdp_site.urls import urlpatterns as product_urlpatterns

BUNDLES = Path(__file__).parent / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Corner Shop</title>
<script nonce="{nonce}">window.analytics = {{ _cdn: location.origin }};</script>
<script src="/analytics-next/bundles/index.js"></script>
<script nonce="{nonce}">
  window.shop = AnalyticsNext.AnalyticsBrowser.load({settings});
</script>
</head>
<body><h1>Corner Shop</h1></body>
</html>
"""


def settings_for(*, write_key: str, host: str, batching: bool) -> dict:
    """What ``AnalyticsBrowser.load`` gets: the settings Segment's CDN would answer, with
    the Segment.io destination's host set to ours (and no telemetry to Segment)."""
    segmentio = {
        "apiKey": write_key,
        "apiHost": f"{host.split('://', 1)[1]}/v1",
        "protocol": host.split("://", 1)[0],
    }
    if batching:
        segmentio["deliveryStrategy"] = {"strategy": "batching", "config": {"size": 3}}
    return {
        "writeKey": write_key,
        "cdnSettings": {"integrations": {"Segment.io": segmentio}, "metrics": {"sampleRate": 0}},
    }


@public("test-only stand-in for a customer's website")
def shop(request):
    host = request.GET["host"]
    settings = settings_for(
        write_key=request.GET["key"], host=host, batching=bool(request.GET.get("batching"))
    )
    page = PAGE.format(nonce=request.csp_nonce, settings=json.dumps(settings))

    @csp_update({"connect-src": [host]})
    def respond(request):
        return HttpResponse(page)

    return respond(request)


@public("test-only: Segment's bundle for the stand-in website")
def bundle(request, name: str):
    if not BUNDLES.is_dir():
        raise Http404("Run scripts/ensure-node-modules first.")
    return serve(request, name, document_root=BUNDLES)


urlpatterns = [
    *product_urlpatterns,
    path("analytics-shop/", shop),
    path("analytics-next/bundles/<path:name>", bundle),
]
