"""Pages of the site shell: settings (account, tokens, users), health. The home page (the
dashboard) is served by insights."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services
from .access import public, requires
from .api.errors import json_error_response
from .csvout import csv_response
from .filters import AuditFilter
from .forms import ApiTokenForm, NewUserForm, RoleForm, TimeZoneForm
from .permissions import ROLE_DESCRIPTIONS, Cap, capabilities_of, role_of


def _partial(request, template: str, partial: str) -> str:
    """Full page normally; just the named partial when htmx asks for it."""
    return f"{template}#{partial}" if request.htmx else template


@requires(Cap.OWN_ACCOUNT)
def account_settings(request):
    return _settings_page(request)


def _settings_page(request, *, zone_form=None, status=200):
    capabilities = capabilities_of(request.user)
    can_manage_account = Cap.MANAGE_ACCOUNT in capabilities
    time_zone = selectors.account_time_zone_name()
    return TemplateResponse(
        request,
        "cdp_site/settings.html",
        {
            "tokens": selectors.tokens_of(user=request.user),
            "token_form": ApiTokenForm(),
            "role_description": ROLE_DESCRIPTIONS.get(role_of(request.user), ""),
            "can_manage_users": Cap.MANAGE_USERS in capabilities,
            "can_view_audit": Cap.VIEW_AUDIT in capabilities,
            "can_manage_account": can_manage_account,
            "time_zone": time_zone,
            "zone_form": zone_form or TimeZoneForm(initial={"time_zone": time_zone}),
            "time_zones": sorted(services.time_zones()) if can_manage_account else [],
        },
        status=status,
    )


@requires(Cap.MANAGE_ACCOUNT)
@require_POST
def time_zone_update(request):
    """An admin sets the account's time zone; a name zoneinfo does not know is refused."""
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, zone_form=form, status=400)
    services.set_time_zone(name=form.cleaned_data["time_zone"])
    messages.success(request, f"Reports now count days in {form.cleaned_data['time_zone']}.")
    return redirect("settings")


@requires(Cap.OWN_ACCOUNT)
@require_POST
def token_create(request):
    form = ApiTokenForm(request.POST)
    context = {"token_form": form}
    if form.is_valid():
        context["new_token"] = services.create_api_token(user=request.user, **form.cleaned_data)
        context["token_form"] = ApiTokenForm()
    context["tokens"] = selectors.tokens_of(user=request.user)
    return TemplateResponse(request, _partial(request, "cdp_site/settings.html", "tokens"), context)


@requires(Cap.OWN_ACCOUNT)
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(selectors.tokens_of(user=request.user), pk=pk)
    services.revoke_api_token(token=token)
    context = {"tokens": selectors.tokens_of(user=request.user), "token_form": ApiTokenForm()}
    if not request.htmx:
        return redirect("settings")
    return TemplateResponse(request, "cdp_site/settings.html#tokens", context)


@requires(Cap.MANAGE_USERS)
def users(request):
    form = NewUserForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        created = services.create_user(**form.cleaned_data)
        form = NewUserForm()
    return TemplateResponse(
        request,
        _partial(request, "cdp_site/users.html", "users"),
        {
            "form": form,
            "created": created,
            "rows": selectors.users_with_roles(),
            "role_form": RoleForm(),
        },
    )


@requires(Cap.MANAGE_USERS)
@require_POST
def user_update(request, pk: int):
    user = get_object_or_404(get_user_model(), pk=pk)
    if user == request.user:
        messages.error(request, "You cannot change your own role or deactivate yourself.")
        return redirect("users")
    if "active" in request.POST:
        services.set_active(user=user, active=request.POST["active"] == "1")
    else:
        form = RoleForm(request.POST)
        if form.is_valid():
            services.set_role(user=user, role=form.cleaned_data["role"])
    messages.success(request, f"Updated {user.email}.")
    return redirect("users")


@public("load balancers and monitors poll it without credentials")
@never_cache
def healthz(request):
    health = selectors.service_health()
    return JsonResponse(health, status=200 if health["ok"] else 503)


def _error_page(request, *, status: int, template: str, code: str, message: str, reason=""):
    if request.path.startswith("/api/") or request.path.startswith("/v1/"):
        return json_error_response(status_code=status, code=code, message=reason or message)
    return TemplateResponse(request, template, {"reason": reason}, status=status).render()


def error_400(request, exception=None):
    return _error_page(
        request, status=400, template="400.html", code="bad_request", message="Bad request."
    )


def error_403(request, exception=None):
    """``reason``: what a view said when it refused (``PermissionDenied("...")``), e.g. an
    export of personal data without the grant to see it."""
    return _error_page(
        request,
        status=403,
        template="403.html",
        code="permission_denied",
        message="Your role does not allow this.",
        reason=str(exception or "") if isinstance(exception, Exception) else "",
    )


def error_404(request, exception=None):
    return _error_page(
        request, status=404, template="404.html", code="not_found", message="Not found."
    )


def error_500(request):
    return _error_page(
        request,
        status=500,
        template="500.html",
        code="server_error",
        message="Something went wrong on our side.",
    )


AUDIT_CSV_ROWS = 100_000  # a download of more is a job for the API's paging
AUDIT_COLUMNS = ["at", "actor_id", "actor_role", "action", "target_type", "target_id"]
AUDIT_COLUMNS += ["address", "details"]


@requires(Cap.VIEW_AUDIT)
@require_GET
def audit_trail(request):
    """The audit trail for admins: filtered by action, user, target and time; a page of
    the newest 100 (``before`` pages on), or every match as CSV (``format=csv``)."""
    found = AuditFilter(request.GET or None, queryset=selectors.audit_entries())
    entries = found.qs  # an invalid filter value is left out, as on the other lists
    if request.GET.get("format") == "csv":
        rows = ([getattr(e, c) for c in AUDIT_COLUMNS] for e in entries[:AUDIT_CSV_ROWS])
        return csv_response(name="audit-trail", header=AUDIT_COLUMNS, rows=rows)
    before = request.GET.get("before", "")
    page, older = selectors.audit_page(
        entries, before=int(before) if before.isdigit() and len(before) < 19 else None
    )
    query = request.GET.copy()
    query.pop("before", None)
    context = {"filter": found, "entries": page, "older": older, "query": query.urlencode()}
    return TemplateResponse(request, _partial(request, "cdp_site/audit.html", "entries"), context)
