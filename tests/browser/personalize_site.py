"""Test-only URLs: the product, the demo's pages, and the demo's shop page served as a
customer's website on another origin than the API (so the snippet's request is
cross-origin and the source's allowed origins decide, as on a real site)."""

from csp.decorators import csp_update
from django.urls import path

from cdp_site.access import public
from cdp_site.urls import urlpatterns as product_urlpatterns
from demo.personalize_page import render_shop


@public("test-only stand-in for a customer's website")
def shop(request):
    host = request.GET["host"]

    @csp_update({"script-src": [host], "connect-src": [host]})
    def respond(request):
        return render_shop(request, write_key=request.GET["key"], host=host)

    return respond(request)


urlpatterns = [*product_urlpatterns, path("trailhead/", shop)]  # /demo/shop/ among the first
