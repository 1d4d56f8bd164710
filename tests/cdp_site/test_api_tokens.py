"""API tokens: created in the UI, shown once, stored hashed, acting with the owner's role."""

import hashlib

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from cdp_site import services
from cdp_site.models import ApiToken

pytestmark = pytest.mark.django_db


def _api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def test_token_created_in_the_ui_is_shown_once_and_stored_hashed(client_as):
    client = client_as("Marketer")
    response = client.post("/settings/tokens/", {"name": "CRM sync"}, HTTP_HX_REQUEST="true")

    plaintext = response.context_data["new_token"].plaintext
    assert plaintext in response.content.decode()
    stored = ApiToken.objects.get(name="CRM sync")
    assert stored.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in {stored.key_hash, stored.prefix}
    # Shown once: the settings page lists it without the secret.
    assert plaintext not in client.get("/settings/").content.decode()


def test_htmx_token_creation_answers_only_the_tokens_fragment(client_as):
    response = client_as("Viewer").post("/settings/tokens/", {"name": "x"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="tokens"')
    assert "<nav" not in html


def test_token_acts_with_its_owners_role(make_user):
    marketer = make_user("Marketer")
    token = services.create_api_token(user=marketer, name="t").plaintext

    me = _api(token).get("/api/v1/me").json()
    assert me["email"] == marketer.email
    assert me["role"] == "Marketer"
    assert "segments.manage" in me["capabilities"]
    assert "users.manage" not in me["capabilities"]


def test_viewer_token_is_refused_where_the_role_is(make_user):
    token = services.create_api_token(user=make_user("Viewer"), name="t").plaintext
    response = _api(token).get("/api/v1/sources")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_revoked_token_stops_working(make_user):
    user = make_user("Admin")
    new = services.create_api_token(user=user, name="t")
    client = _api(new.plaintext)
    assert client.get("/api/v1/me").status_code == 200

    assert client.delete(f"/api/v1/tokens/{new.token.pk}").status_code == 204
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "authentication_failed",
            "message": "Invalid or revoked token.",
            "fields": {},
        }
    }


def test_revoking_in_the_ui_answers_the_fragment_and_marks_it_revoked(client_as):
    client = client_as("Account manager")
    client.post("/settings/tokens/", {"name": "laptop"})
    token = ApiToken.objects.get(name="laptop")

    response = client.post(f"/settings/tokens/{token.pk}/revoke/", HTTP_HX_REQUEST="true")

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "revoked" in response.content.decode()


def test_a_user_cannot_revoke_someone_elses_token(client_as, make_user):
    other = services.create_api_token(user=make_user("Admin", "boss@example.org"), name="x")
    response = client_as("Marketer").post(f"/settings/tokens/{other.token.pk}/revoke/")
    assert response.status_code == 404
    other.token.refresh_from_db()
    assert other.token.revoked_at is None


def test_token_of_a_deactivated_user_is_refused(make_user):
    user = make_user("Admin")
    token = services.create_api_token(user=user, name="t").plaintext
    services.set_active(user=user, active=False)
    assert _api(token).get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token cdp_nope_nope", "Token xyz"])
def test_malformed_or_unknown_tokens_get_401_in_the_error_shape(header):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/me")
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_token_list_is_cursor_paginated_and_never_shows_secrets(make_user):
    user = make_user("Marketer")
    tokens = [services.create_api_token(user=user, name=f"t{i}") for i in range(5)]
    client = _api(tokens[0].plaintext)

    first = client.get("/api/v1/tokens?limit=2").json()
    assert [t["name"] for t in first["results"]] == ["t4", "t3"]
    assert first["next"] and "cursor=" in first["next"]
    second = client.get(first["next"]).json()
    assert [t["name"] for t in second["results"]] == ["t2", "t1"]
    body = str(first) + str(second)
    assert all(t.plaintext not in body for t in tokens)
    assert "key_hash" not in body


def test_api_is_throttled_with_retry_after(make_user, settings):
    token = services.create_api_token(user=make_user("Viewer"), name="t").plaintext
    client = _api(token)
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    try:
        cache.clear()
        statuses = [client.get("/api/v1/me").status_code for _ in range(4)]
        response = client.get("/api/v1/me")
    finally:
        UserRateThrottle.THROTTLE_RATES = original
    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


def test_validation_errors_name_the_field(make_user):
    token = services.create_api_token(user=make_user("Admin"), name="t").plaintext
    response = _api(token).post("/api/v1/sources", {}, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "name" in error["fields"]


def test_unknown_api_url_answers_json_not_html(make_user):
    response = Client().get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_schema_and_docs_are_served_without_a_cdn(client_as):
    client = client_as("Viewer")
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/me" in paths and "/api/v1/tokens" in paths
    docs = client.get("/api/docs/").content.decode()
    assert "redoc" in docs.lower()
    assert "cdn" not in docs.lower() and "https://" not in docs.split("<body")[0]
