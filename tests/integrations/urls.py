"""The site's URLs plus the integrations API, until cdp_site/urls.py mounts it itself."""

from django.urls import include, path
from django.urls.exceptions import Resolver404

from cdp_site.urls import handler403, handler404, handler500  # noqa: F401
from cdp_site.urls import urlpatterns as site_urlpatterns

urlpatterns = list(site_urlpatterns)
try:
    from django.urls import get_resolver

    get_resolver("cdp_site.urls").resolve("/api/v1/sources")
except Resolver404:
    urlpatterns.append(path("api/v1/", include("integrations.api.urls")))
