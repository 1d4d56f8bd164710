"""Redoc's script for the API reference page, without the one thing it fetches from
outside: the Redocly logo (https://cdn.redoc.ly/...), which our CSP refuses and the
browser then logs as an error on every visit. The sidecar's bundle is served with that
address swapped for an empty inline image (``img-src`` allows ``data:``)."""

import functools
import hashlib

from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from cdp_site.access import public

BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = (
    b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"
)


@functools.cache
def _script() -> tuple[bytes, str]:
    path = finders.find(BUNDLE)
    if path is None:
        raise Http404("drf-spectacular-sidecar is not installed.")
    with open(path, "rb") as bundle:
        body = bundle.read().replace(REDOC_LOGO, EMPTY_IMAGE)
    return body, hashlib.sha256(body).hexdigest()[:16]


@public("Redoc's script (public code, no data) for the API reference page")
@require_GET
def redoc_script(request):
    body, etag = _script()
    if request.headers.get("If-None-Match") == f'"{etag}"':
        return HttpResponse(status=304)
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = f'"{etag}"'
    response["Cache-Control"] = "public, max-age=86400"
    return response
