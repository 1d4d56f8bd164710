"""Test-only URLs: the product plus a stand-in for a customer's website.

The shop page pastes the loader exactly as the source page shows it (the same partial,
unescaped as a person copying it would get it) and sends a strict CSP of its own, as a
careful customer would: a nonce for the inline loader, our host allowed for the script
and its requests.
"""

import html

from csp.decorators import csp_update
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import path

from cdp_site.access import public
from cdp_site.urls import urlpatterns as product_urlpatterns

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Corner Shop</title>
{loader}
</head>
<body><h1>Corner Shop</h1></body>
</html>
"""


def loader_for(*, write_key: str, host: str) -> str:
    """The loader text an admin copies from the source page."""
    shown = render_to_string(
        "integrations/source_detail.html#loader",
        {"source": {"write_key": write_key}, "host": host},
    )
    return html.unescape(shown)


@public("test-only stand-in for a customer's website")
def shop(request):
    host = request.GET["host"]
    loader = loader_for(write_key=request.GET["key"], host=host)
    if request.GET.get("require_consent"):
        # What the loader's comment tells a site with a consent banner to do.
        loader = loader.replace("// s.dataset.requireConsent", "s.dataset.requireConsent")
    loader = loader.replace("<script>", f'<script nonce="{request.csp_nonce}">', 1)

    @csp_update({"script-src": [host], "connect-src": [host]})
    def respond(request):
        return HttpResponse(PAGE.format(loader=loader))

    return respond(request)


urlpatterns = [*product_urlpatterns, path("corner-shop/", shop)]
