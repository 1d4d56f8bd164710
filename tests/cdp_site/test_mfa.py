"""Two-factor authentication: TOTP with recovery codes (allauth.mfa), and admins who must
set it up first when CDP_REQUIRE_MFA_FOR_ADMINS is on."""

import base64
import hashlib
import hmac
import html
import re
import struct
import time

import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache

from cdp_site import services
from cdp_site.permissions import ADMIN, MARKETER
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def totp(secret: str, *, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    mac = hmac.new(key, struct.pack(">Q", int((at or time.time()) // 30)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def log_in(client, user):
    return client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})


def enable_totp(client, user) -> tuple[str, list[str]]:
    """Sets up TOTP through the pages; returns the secret and the recovery codes shown."""
    log_in(client, user)
    asked = client.get("/accounts/2fa/totp/activate/")  # a change of sign-in: password again
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    client.post(asked["Location"], {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/").content.decode()
    secret = re.search(r'value="([A-Z2-7]{16,})"', page).group(1)
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret)})
    assert done.status_code == 302, done.content.decode()
    codes_page = html.unescape(client.get("/accounts/2fa/recovery-codes/").content.decode())
    area = re.search(r"<textarea[^>]*>(.*?)</textarea>", codes_page, re.S).group(1)
    client.post("/accounts/logout/")
    cache.clear()  # the code used to activate is remembered as used for its window
    return secret, area.split()


def test_a_user_enables_totp_and_sees_recovery_codes(client, make_user):
    user = make_user(MARKETER)
    assert client.get("/settings/").content.decode().count("/accounts/2fa/") == 0
    log_in(client, user)
    assert "/accounts/2fa/" in client.get("/settings/").content.decode()
    client.post("/accounts/logout/")
    secret, codes = enable_totp(client, user)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert len(codes) == 10 and all(len(code) == 8 for code in codes)


def test_login_with_totp_asks_for_the_code_and_refuses_a_wrong_one(client, make_user):
    user = make_user(MARKETER)
    secret, _ = enable_totp(client, user)

    after_password = log_in(client, user)
    assert after_password["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/").status_code == 302  # not signed in yet

    refused = client.post("/accounts/2fa/authenticate/", {"code": wrong(totp(secret))})
    assert refused.status_code == 200 and "Incorrect code" in refused.content.decode()
    assert client.get("/segments/").status_code == 302

    accepted = client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})
    assert accepted.status_code == 302 and accepted["Location"] == "/"
    assert client.get("/segments/").status_code == 200


def test_a_recovery_code_works_once(client, make_user):
    user = make_user(MARKETER)
    _, codes = enable_totp(client, user)

    log_in(client, user)
    first = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert first.status_code == 302 and first["Location"] == "/"
    client.post("/accounts/logout/")

    log_in(client, user)
    again = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert again.status_code == 200 and "Incorrect code" in again.content.decode()
    assert client.get("/segments/").status_code == 302


def test_with_the_setting_on_an_admin_must_set_up_totp_before_anything_else(
    client, make_user, settings
):
    settings.CDP_REQUIRE_MFA_FOR_ADMINS = True
    admin = make_user(ADMIN)
    token = services.create_api_token(user=admin, name="nightly export").plaintext
    log_in(client, admin)

    for path in ("/segments/", "/", "/settings/users/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/totp/activate/", path
    htmx = client.get("/segments/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == "/accounts/2fa/totp/activate/"
    api = client.get("/api/v1/segments/")
    assert api.status_code == 403 and api.json()["error"]["code"] == "mfa_required"
    # Tokens are not the session: scripts keep working (see README, Security).
    scripted = client.__class__().get("/api/v1/segments/", HTTP_AUTHORIZATION=f"Token {token}")
    assert scripted.status_code == 200

    client.post("/accounts/logout/")
    secret, _ = enable_totp(client, admin)
    log_in(client, admin)
    client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})
    assert client.get("/segments/").status_code == 200


def test_the_setting_asks_nothing_of_other_roles(client, make_user, settings):
    settings.CDP_REQUIRE_MFA_FOR_ADMINS = True
    log_in(client, make_user(MARKETER))
    assert client.get("/segments/").status_code == 200
