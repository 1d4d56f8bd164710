"""WSGI entry point.

The tracking API (/v1/) takes most requests by far and needs none of the session,
auth, CSRF, message, allauth, htmx or CSP middleware (a write key authenticates it and
it answers JSON), so its requests go through a handler with only the security
middleware. Everything else goes through the full stack.

Each web process gets ready before its first request (``warm_up``): the first call of a
process used to pay for opening the broker's connection pool and importing what Django
imports lazily, a few hundred milliseconds that a load balancer's first requests after a
deploy felt. Then everything loaded so far is frozen out of the garbage collector's
reach: a full collection otherwise walks every module, model and template object, tens
of milliseconds during which both threads of the process stop.
"""

import gc
import logging
import os

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings")

COLLECT_PREFIX = "/v1/"


class CollectWSGIHandler(WSGIHandler):
    """Django's handler with a middleware chain of SecurityMiddleware alone."""

    def load_middleware(self, is_async=False):
        # Django's modules are imported once settings are configured (below), not before.
        from django.middleware.security import SecurityMiddleware

        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        inner = convert_exception_to_response(self._get_response)
        self._middleware_chain = convert_exception_to_response(SecurityMiddleware(inner))

    def get_response(self, request):
        response = super().get_response(request)
        # CommonMiddleware's one job we keep: keep-alive clients need the length.
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response


class PathDispatcher:
    def __init__(self, *, full, collect):
        self.full, self.collect = full, collect

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(COLLECT_PREFIX):
            return self.collect(environ, start_response)
        return self.full(environ, start_response)


logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Loads the URL configuration and opens the broker's connection pool now; a broker
    that is down is not a reason to refuse to serve (the tracking API works without it)."""
    # Django's modules are imported once settings are configured, not before.
    from django.urls import get_resolver

    from cdp_site.celery import app as celery_app

    get_resolver().url_patterns  # noqa: B018 (imports every app's views and URLconfs)
    try:
        with celery_app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
    except Exception:
        logger.warning("broker not reachable while warming up", exc_info=True)


application = PathDispatcher(full=get_wsgi_application(), collect=CollectWSGIHandler())
warm_up()
gc.freeze()
