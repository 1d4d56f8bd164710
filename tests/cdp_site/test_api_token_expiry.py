"""API tokens: an optional expiry set at creation (page and API), expired tokens refused
with a 401 that says so, and every token of a user revoked when the password changes."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cdp_site import services
from cdp_site.models import ApiToken
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def test_a_token_created_on_the_page_with_an_expiry_expires_then(client_as):
    client = client_as("Marketer")
    response = client.post(
        "/settings/tokens/", {"name": "CI", "expires_in_days": "30"}, HTTP_HX_REQUEST="true"
    )
    token = ApiToken.objects.get(name="CI")
    expected = timezone.now() + timedelta(days=30)
    assert abs(token.expires_at - expected) < timedelta(minutes=1)
    assert f"{token.expires_at:%Y-%m-%d}" in response.content.decode()
    assert _api(response.context_data["new_token"].plaintext).get("/api/v1/me").status_code == 200


def test_a_token_created_on_the_page_without_an_expiry_never_expires(client_as):
    client_as("Viewer").post("/settings/tokens/", {"name": "forever", "expires_in_days": ""})
    assert ApiToken.objects.get(name="forever").expires_at is None


def test_an_expired_token_is_refused_with_a_message_saying_so(make_user):
    new = services.create_api_token(user=make_user("Admin"), name="old", expires_in_days=1)
    client = _api(new.plaintext)
    assert client.get("/api/v1/me").status_code == 200

    ApiToken.objects.filter(pk=new.token.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "authentication_failed"
    assert error["message"].startswith("This token expired at ")
    assert "Create a new one" in error["message"]


def test_a_token_created_through_the_api_is_shown_once_with_its_expiry(make_user):
    owner = services.create_api_token(user=make_user("Account manager"), name="boot")
    response = _api(owner.plaintext).post(
        "/api/v1/tokens", {"name": "nightly", "expires_in_days": 7}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "nightly" and body["active"] is True
    assert body["expires_at"].startswith(f"{timezone.now() + timedelta(days=7):%Y-%m-%d}")
    assert _api(body["token"]).get("/api/v1/me").status_code == 200
    listed = _api(owner.plaintext).get("/api/v1/tokens").json()["results"]
    assert all("token" not in row for row in listed)


@pytest.mark.parametrize("days", [0, -1, 3651, "soon"])
def test_an_api_token_expiry_out_of_range_is_a_field_error(make_user, days):
    owner = services.create_api_token(user=make_user("Viewer"), name="boot")
    response = _api(owner.plaintext).post(
        "/api/v1/tokens", {"name": "x", "expires_in_days": days}, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["expires_in_days"]
    assert not ApiToken.objects.filter(name="x").exists()


def _tokens_of(user, n=2):
    return [services.create_api_token(user=user, name=f"t{i}").plaintext for i in range(n)]


def test_changing_the_password_revokes_every_token_of_that_user_only(client, make_user):
    mia, other = make_user("Marketer", "mia@example.org"), make_user("Viewer")
    mine, theirs = _tokens_of(mia), _tokens_of(other)
    client.force_login(mia)
    new = "a-brand-new-passphrase-42"
    client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    mia.refresh_from_db()
    assert mia.check_password(new)
    assert [_api(t).get("/api/v1/me").status_code for t in mine] == [401, 401]
    assert [_api(t).get("/api/v1/me").status_code for t in theirs] == [200, 200]


def test_a_password_reset_by_email_revokes_the_users_tokens(client, make_user, smtp_inbox):
    mia = make_user("Marketer", "mia@example.org")
    mine = _tokens_of(mia)
    client.post("/accounts/password/reset/", {"email": "mia@example.org"})
    message = smtp_inbox.messages[0]
    body = message.get_payload(decode=True) or message.get_payload(0).get_payload(decode=True)
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", body.decode()).group(1)
    form = client.get(link, follow=True)
    new = "a-brand-new-passphrase-42"
    client.post(form.redirect_chain[-1][0], {"password1": new, "password2": new})

    mia.refresh_from_db()
    assert mia.check_password(new)
    assert [_api(t).get("/api/v1/me").status_code for t in mine] == [401, 401]


def test_an_admin_reset_password_revokes_the_users_tokens(make_user):
    mia = make_user("Marketer", "mia@example.org")
    mine = _tokens_of(mia)
    services.reset_password(user=mia)
    assert not ApiToken.objects.filter(user=mia, revoked_at=None).exists()
    assert [_api(t).get("/api/v1/me").status_code for t in mine] == [401, 401]
