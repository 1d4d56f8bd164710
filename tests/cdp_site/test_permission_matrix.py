"""Walks every URL for every role: allowed, or 403 / redirect to login as the matrix says."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from cdp_site.permissions import ROLE_CAPABILITIES, ROLES, Cap, capability_for

SAMPLE_ARGS = {
    "int": "999999",
    "str": "x",
    "slug": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "path": "x",
}
# URLs from third-party apps that guard themselves (allauth's login, reset, logout ...).
SELF_GUARDED_MODULES = ("allauth.",)


def _walk(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _sample_url(route: str) -> str:
    def fill(match):
        converter = match.group(1) or "str"
        return SAMPLE_ARGS[converter]

    url = re.sub(r"<(?:(\w+):)?\w+>", fill, route)
    return "/" + url.lstrip("^").rstrip("$").replace("\\Z", "")


def _declaration(callback):
    for holder in (callback, getattr(callback, "view_class", None), getattr(callback, "cls", None)):
        if holder is None:
            continue
        if getattr(holder, "required_capability", None) is not None:
            return "capability", holder.required_capability
        if getattr(holder, "public_reason", None):
            return "public", holder.public_reason
    if callback.__module__.startswith(SELF_GUARDED_MODULES):
        return "public", "third-party authentication pages"
    return None, None


ALL_URLS = list(_walk(get_resolver()))
GUARDED = [(route, cb) for route, cb in ALL_URLS if _declaration(cb)[0] == "capability"]


def test_every_url_declares_what_it_needs():
    undeclared = [route for route, cb in ALL_URLS if _declaration(cb)[0] is None]
    assert undeclared == [], f"URLs without a declared capability or @public: {undeclared}"


def test_matrix_covers_the_product_urls():
    routes = {route for route, _ in GUARDED}
    for expected in ("", "settings/", "settings/users/", "api/v1/me", "profiles/", "segments/"):
        assert expected in routes
    # Pull connections: their pages and API, every control included.
    connections = (
        "integrations/connections/",
        "integrations/connections/new/",
        "integrations/connections/<int:pk>/",
        "integrations/connections/<int:pk>/edit/",
        "integrations/connections/<int:pk>/test/",
        "integrations/connections/<int:pk>/preview/",
        "integrations/connections/<int:pk>/run/",
        "integrations/connections/<int:pk>/pause/",
        "integrations/connections/<int:pk>/cancel/",
        "integrations/connections/<int:pk>/delete/",
        "integrations/connections/<int:pk>/runs/<int:run_pk>/",
        "api/v1/connections/",
        "api/v1/connections/<int:pk>",
        "api/v1/connections/<int:pk>/test",
        "api/v1/connections/<int:pk>/preview",
        "api/v1/connections/<int:pk>/runs",
        "api/v1/connections/<int:pk>/runs/<int:run_pk>",
        "api/v1/connections/<int:pk>/cancel",
        "api/v1/connections/<int:pk>/pause",
        "api/v1/connections/<int:pk>/resume",
        "api/v1/connector-kinds",
    )
    assert set(connections) <= routes, set(connections) - routes
    tracking_plans = (
        "integrations/tracking-plans/",
        "integrations/tracking-plans/infer/",
        "integrations/tracking-plans/<int:pk>/",
        "integrations/tracking-plans/<int:pk>/delete/",
        "integrations/tracking-plans/<int:pk>/sources/",
        "integrations/tracking-plans/<int:pk>/traits/",
        "integrations/tracking-plans/<int:pk>/events/",
        "integrations/tracking-plans/<int:pk>/events/<int:event_pk>/",
        "integrations/tracking-plans/<int:pk>/events/<int:event_pk>/delete/",
        "api/v1/tracking-plans/",
        "api/v1/tracking-plans/infer",
        "api/v1/tracking-plans/<int:pk>",
        "api/v1/tracking-plans/<int:pk>/violations",
    )
    assert set(tracking_plans) <= routes, set(tracking_plans) - routes


def test_connections_and_tracking_plans_are_for_integration_admins_only():
    """Every connection and tracking-plan URL needs VIEW_INTEGRATIONS to read and
    MANAGE_INTEGRATIONS to change, as sources and destinations do: admins only in the
    roles shipped."""
    for route, callback in GUARDED:
        if not any(word in route for word in ("connection", "connector", "tracking-plan")):
            continue
        declared = _declaration(callback)[1]
        assert capability_for(declared, "POST") == Cap.MANAGE_INTEGRATIONS, route
        assert capability_for(declared, "GET") in (
            Cap.VIEW_INTEGRATIONS,
            Cap.MANAGE_INTEGRATIONS,
        ), route
    assert [r for r in ROLES if Cap.VIEW_INTEGRATIONS in ROLE_CAPABILITIES[r]] == ["Admin"]


def test_privacy_requests_are_handled_by_account_managers_and_admins_only():
    privacy = [(r, cb) for r, cb in GUARDED if "privacy" in r]
    assert {r for r, _ in privacy} >= {
        "profiles/privacy/",
        "profiles/privacy/new/",
        "profiles/privacy/<int:pk>/",
        "profiles/privacy/<int:pk>/run/",
        "api/v1/privacy-requests/",
        "api/v1/privacy-requests/<int:pk>/",
        "api/v1/privacy-requests/<int:pk>/run/",
    }
    for route, callback in privacy:
        declared = _declaration(callback)[1]
        for method in ("GET", "POST"):
            assert capability_for(declared, method) == Cap.HANDLE_PRIVACY_REQUESTS, route
    holders = [r for r in ROLES if Cap.HANDLE_PRIVACY_REQUESTS in ROLE_CAPABILITIES[r]]
    assert holders == ["Admin", "Account manager"]


HTML_PAGES_UNDER_API = {"/api/docs/"}


def _is_api(url: str) -> bool:
    return url.startswith("/api/") and url not in HTML_PAGES_UNDER_API


def _assert_denied_or_allowed(response, *, allowed: bool, url: str, role: str, method: str):
    where = f"{method} {url} as {role}"
    if allowed:
        assert response.status_code not in (401, 403), f"{where} should be allowed"
        assert not (response.status_code == 302 and "/accounts/login" in response["Location"]), (
            where
        )
    else:
        assert response.status_code == 403, f"{where} should be 403, got {response.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_the_matrix_grants(role, make_user):
    client = Client()
    client.force_login(make_user(role))
    caps = ROLE_CAPABILITIES[role]
    for route, callback in GUARDED:
        url = _sample_url(route)
        declared = _declaration(callback)[1]
        for method in ("GET", "POST"):
            cap = capability_for(declared, method)
            response = getattr(client, method.lower())(url)
            _assert_denied_or_allowed(
                response, allowed=cap in caps, url=url, role=role, method=method
            )


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_login_or_refused():
    client = Client()
    for route, _ in GUARDED:
        url = _sample_url(route)
        response = client.get(url)
        if _is_api(url):
            assert response.status_code in (401, 403), url
            assert "error" in response.json(), url
        else:
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/"), url


def test_admin_role_holds_every_capability():
    assert ROLE_CAPABILITIES["Admin"] == frozenset(Cap)
    assert Cap.MANAGE_USERS not in ROLE_CAPABILITIES["Marketer"]
    assert Cap.VIEW_PROFILES in ROLE_CAPABILITIES["Account manager"]
    assert ROLE_CAPABILITIES["Viewer"] == {Cap.OWN_ACCOUNT, Cap.VIEW_DASHBOARDS}
