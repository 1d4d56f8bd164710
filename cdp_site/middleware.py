"""Request checks every page and endpoint shares: no NUL characters in parameters, and
admins set up two-factor authentication first (CDP_REQUIRE_MFA_FOR_ADMINS)."""

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from .api.errors import error_body
from .permissions import ADMIN, role_of

NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _parameter_with_nul(request) -> str | None:
    """The first query (or urlencoded form) parameter whose name or a value holds a NUL.

    PostgreSQL refuses NUL in text, so such a value would fail deep inside a query;
    multipart bodies are left to their forms and serializers (which refuse NUL already)
    so that uploads are not read here."""
    sources = [request.GET]
    if request.method == "POST" and request.content_type == FORM_CONTENT_TYPE:
        sources.append(request.POST)
    for params in sources:
        for name, values in params.lists():
            if NUL in name or any(NUL in value for value in values):
                return name.replace(NUL, "\\x00")
    return None


class RefuseNulCharacters:
    """A 400 naming the parameter for a NUL in any query or form parameter: in the API's
    error shape under /api/, as a page elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = _parameter_with_nul(request)
        if name is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            body = error_body(
                code="invalid", message="Some fields are invalid.", fields={name: [NUL_MESSAGE]}
            )
            return JsonResponse(body, status=400)
        return TemplateResponse(
            request, "400.html", {"parameter": name, "reason": NUL_MESSAGE}, status=400
        ).render()


# Open to an admin without TOTP: the sign-in and set-up pages themselves, static files,
# and what is not the admin's session (collection API, webhooks, tracking links, health).
OPEN_PATHS = ("/accounts/", "/static/", "/healthz", "/v1/", "/hooks/", "/t/")
MESSAGE = "Set up two-factor authentication under Settings before using the product."


class RequireAdminMFA:
    """Sends a signed-in admin without TOTP to the set-up page, whatever they asked for.

    Only the session is checked: REST API calls with a token (authenticated by DRF, after
    this middleware) keep working, as scripts cannot answer a code; revoke an admin's
    tokens to stop them. A session call to the API gets a 403 in the API's error shape.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.CDP_REQUIRE_MFA_FOR_ADMINS and _must_set_up(request):
            if request.path.startswith("/api/"):
                error = {"code": "mfa_required", "message": MESSAGE, "fields": {}}
                return JsonResponse({"error": error}, status=403)
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(reverse("mfa_activate_totp"))
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _must_set_up(request) -> bool:
    user = request.user
    if not user.is_authenticated or request.path.startswith(OPEN_PATHS):
        return False
    if role_of(user) != ADMIN:
        return False
    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
