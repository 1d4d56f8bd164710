"""One proxy count (CDP_TRUSTED_PROXY_COUNT) decides the client's address everywhere.

Behind one proxy, X-Forwarded-For reads "<whatever the client sent>, <the client>": only
the right-most entry is ours. A forged left-most entry must change nothing.
"""

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.throttling import AnonRateThrottle

from cdp_site.clientip import client_ip

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"  # REMOTE_ADDR: the proxy itself, the same for every client behind it
CLIENT_A, CLIENT_B = "198.51.100.7", "198.51.100.8"
THROTTLED = "Too many failed login attempts"


def forwarded(client_ip: str, forged: str) -> dict:
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{forged}, {client_ip}"}


def failed_login(client, n: int, meta: dict):
    # A different account each time: only the per-address limit (10 a minute) applies.
    return client.post(
        "/accounts/login/", {"login": f"nobody-{n}@example.org", "password": "wrong"}, **meta
    )


def test_a_forged_forwarded_address_does_not_escape_the_login_throttle(client, settings):
    settings.CDP_TRUSTED_PROXY_COUNT = 1
    cache.clear()
    for n in range(10):
        response = failed_login(client, n, forwarded(CLIENT_A, forged=f"203.0.113.{n}"))
        assert THROTTLED not in response.content.decode(), n
    blocked = failed_login(client, 10, forwarded(CLIENT_A, forged="203.0.113.99"))
    assert THROTTLED in blocked.content.decode()
    # Another client behind the same proxy is not blocked by A's failures.
    other = failed_login(client, 11, forwarded(CLIENT_B, forged="203.0.113.99"))
    assert other.status_code == 200 and THROTTLED not in other.content.decode()


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    request = RequestFactory().get("/", **forwarded(CLIENT_A, forged="203.0.113.1"))
    assert settings.CDP_TRUSTED_PROXY_COUNT == 0
    assert client_ip(request) == PROXY
    assert AnonRateThrottle().get_ident(request) == PROXY
