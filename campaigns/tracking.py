"""Tracking links of a sent message: the open pixel, click redirects and the
unsubscribe link. Every token is a delivery id signed with django.core.signing under a
salt of its own (a pixel token can't be used as an unsubscribe token), and a click's
target URL is signed for that one delivery, so the redirect goes only where the message
pointed: never an open redirect.

The public base of the links is ``settings.CDP_PUBLIC_URL``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from profiles import services as profile_services

from .models import Delivery
from .moves import current_profile

OPEN_SALT = "campaigns.tracking.open"
CLICK_SALT = "campaigns.tracking.click"
URL_SALT = "campaigns.tracking.url"
UNSUBSCRIBE_SALT = "campaigns.tracking.unsubscribe"
PURPOSE = "email_marketing"


class BadToken(Exception):
    pass


def base_url() -> str:
    return getattr(settings, "CDP_PUBLIC_URL", "http://localhost:8000").rstrip("/")


def _sign(value: str, salt: str) -> str:
    """What ``signing.Signer(salt=salt).sign(value)`` returns (same key, salt and
    algorithm, so ``Signer.unsign`` reads it), without building a Signer and deriving
    its key each time: a message carries half a dozen signed links."""
    key = _derived_key(salt, settings.SECRET_KEY)
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return f"{value}:{signing.b64_encode(mac).decode()}"


@functools.lru_cache(maxsize=16)
def _derived_key(salt: str, secret: str) -> bytes:
    return hashlib.sha256(f"{salt}signer{secret}".encode()).digest()


def make_token(delivery_id: int, salt: str) -> str:
    return _sign(str(int(delivery_id)), salt)


def read_token(token: str, salt: str) -> int:
    try:
        value = signing.Signer(salt=salt).unsign(token)
        return int(value)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadToken("This link is not valid.") from exc


def sign_url(delivery_id: int, url: str) -> str:
    return _sign(url, f"{URL_SALT}.{int(delivery_id)}")


def read_url(delivery_id: int, signed: str) -> str:
    try:
        url = signing.Signer(salt=f"{URL_SALT}.{int(delivery_id)}").unsign(signed or "")
    except signing.BadSignature as exc:
        raise BadToken("This link is not valid.") from exc
    if not url.lower().startswith(("http://", "https://")):
        raise BadToken("This link is not valid.")
    return url


PLACEHOLDER = "token-placeholder"


@functools.lru_cache(maxsize=8)
def _path(name: str) -> str:
    # reverse() once per URL name: every message has several links.
    return reverse(name, kwargs={"token": PLACEHOLDER})


def _url(name: str, token: str) -> str:
    return base_url() + _path(name).replace(PLACEHOLDER, token)


def open_url(delivery_id: int) -> str:
    return _url("tracking:open", make_token(delivery_id, OPEN_SALT))


def click_url(delivery_id: int, url: str) -> str:
    link = _url("tracking:click", make_token(delivery_id, CLICK_SALT))
    return f"{link}?{urlencode({'u': sign_url(delivery_id, url)})}"


def unsubscribe_url(delivery_id: int) -> str:
    return _url("tracking:unsubscribe", make_token(delivery_id, UNSUBSCRIBE_SALT))


def record_open(delivery_id: int) -> bool:
    """Marks the first open; later opens change nothing. True when this was the first."""
    return bool(
        Delivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )
    )


def record_click(delivery_id: int) -> bool:
    """Marks the first click (and an open, when images were blocked: a click is proof
    the message was opened). True when this was the first click."""
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(opened_at=now)
        first = Delivery.objects.filter(pk=delivery_id, clicked_at__isnull=True).update(
            clicked_at=now
        )
    return bool(first)


def profile_for(delivery: Delivery):
    """The delivery's person now: the survivor when the profile was merged since."""

    return current_profile(delivery.profile_id)


def unsubscribe(delivery_id: int, *, via: str = "unsubscribe link") -> bool:
    """Records e-mail marketing consent withdrawn for the delivery's person. True when a
    statement was recorded, False when it was already withdrawn (a repeated one-click)."""

    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise BadToken("This link is not valid.")
    profile = profile_for(delivery)
    if profile is None:
        return False
    current = ((profile.consent or {}).get(PURPOSE) or {}).get("status")
    if current == "withdrawn":
        return False
    profile_services.record_consent(
        profile=profile,
        purpose=PURPOSE,
        status="withdrawn",
        evidence={"delivery": delivery.pk, "via": via},
    )
    return True
