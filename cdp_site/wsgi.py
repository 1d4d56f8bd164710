"""WSGI entry point.

The tracking API (/v1/) takes most requests by far and needs none of the session,
auth, CSRF, message, allauth, htmx or CSP middleware (a write key authenticates it and
it answers JSON), so its requests go through a handler with only the security
middleware. Everything else goes through the full stack.
"""

import os

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings")

COLLECT_PREFIX = "/v1/"


class CollectWSGIHandler(WSGIHandler):
    """Django's handler with a middleware chain of SecurityMiddleware alone."""

    def load_middleware(self, is_async=False):
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


application = PathDispatcher(full=get_wsgi_application(), collect=CollectWSGIHandler())
