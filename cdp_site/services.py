"""Writes of the site app: roles, users, API tokens and the account's settings."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import available_timezones

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import audit
from .models import AccountSettings, ApiToken
from .permissions import ROLES

TOKEN_PREFIX = "cdp"  # noqa: S105 (a label, not a secret)
LAST_USED_RESOLUTION = timedelta(minutes=1)


def ensure_roles() -> None:
    for name in ROLES:
        Group.objects.get_or_create(name=name)


@transaction.atomic
def set_role(*, user, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    ensure_roles()
    before = list(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get(name=role))
    user.__dict__.pop("_cdp_roles", None)
    user.__dict__.pop("_cdp_capabilities", None)
    if before != [role]:
        audit.record(action="user.role", target=user, details={"role": [before, role]})


@dataclass(frozen=True)
class NewUser:
    user: object
    password: str


@transaction.atomic
def create_user(*, email: str, role: str, password: str | None = None) -> NewUser:
    """Creates an active user with one role; a generated password is returned once."""
    password = password or _new_password()
    email = email.strip().lower()
    user = get_user_model().objects.create_user(username=email, email=email, password=password)
    audit.record(action="user.create", target=user)
    set_role(user=user, role=role)
    return NewUser(user=user, password=password)


def set_active(*, user, active: bool) -> None:
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record(action="user.activate" if active else "user.deactivate", target=user)
    if not active:
        revoke_api_tokens_of(user=user)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plaintext: str


def create_api_token(*, user, name: str, expires_in_days: int | None = None) -> NewToken:
    """A new token for ``user``, valid for ``expires_in_days`` days (None: until revoked)."""
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    prefix = secrets.token_hex(4)
    plaintext = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=prefix,
        key_hash=_hash(plaintext),
        expires_at=expires_at,
    )
    audit.record(
        action="token.create", target=token, details={"user": user.pk, "days": expires_in_days}
    )
    return NewToken(token=token, plaintext=plaintext)


def revoke_api_token(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(action="token.revoke", target=token, details={"user": token.user_id})


def revoke_api_tokens_of(*, user) -> int:
    """Revokes every token of ``user`` still active (deactivation, a new password)."""
    revoked = ApiToken.objects.filter(user=user, revoked_at=None).update(revoked_at=timezone.now())
    if revoked:
        audit.record(action="token.revoke_all", target=user, details={"tokens": revoked})
    return revoked


class TokenExpired(Exception):
    def __init__(self, expires_at: datetime):
        super().__init__(f"token expired at {expires_at.isoformat()}")
        self.expires_at = expires_at


def authenticate_api_token(*, plaintext: str) -> ApiToken | None:
    """The active token matching ``plaintext`` (compared in constant time), or None.

    Raises TokenExpired for a genuine token past its expiry, so that its owner learns why
    (the token is known to be theirs: the hash matched)."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(prefix=parts[1], revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.key_hash, _hash(plaintext)):
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenExpired(token.expires_at)
    # Recording every use would turn each API read into a write; a minute is precise enough.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def _new_password() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def reset_password(*, user) -> str:
    password = _new_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(action="user.reset_password", target=user)
    revoke_api_tokens_of(user=user)
    return password


@cache
def time_zones() -> frozenset[str]:
    """The IANA names zoneinfo knows (read from disk once per process)."""
    return frozenset(available_timezones())


def time_zone_error(name: str) -> str | None:
    """Why ``name`` is not a time zone to choose, or None when it is one."""
    if name not in time_zones():
        shown = name if len(name) <= 64 else name[:64] + "…"
        return f"“{shown}” is not a time zone: give an IANA name such as Europe/Amsterdam or UTC."
    return None


@transaction.atomic
def set_time_zone(*, name: str) -> AccountSettings:
    """Makes ``name`` the account's time zone: where every report's days begin."""
    error = time_zone_error(name)
    if error:
        raise ValidationError({"time_zone": error})
    account, _ = AccountSettings.objects.select_for_update().get_or_create(pk=1)
    before = account.time_zone
    account.time_zone = name
    account.save(update_fields=["time_zone", "updated_at"])
    details = audit.changed({"time_zone": before}, {"time_zone": name})
    audit.record(action="settings.time_zone", target=account, details=details)
    return account
