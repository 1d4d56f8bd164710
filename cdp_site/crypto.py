"""Encryption at rest for stored credentials (destination secrets).

``encrypt(text) -> str`` and ``decrypt(token) -> str`` use a Fernet ``MultiFernet`` built
from ``settings.CDP_ENCRYPTION_KEYS``: the first key encrypts, every key decrypts.

Rotating the key: put a new key first in ``CDP_ENCRYPTION_KEYS`` (keep the old one after
it), run ``manage.py rotate_encryption_key`` (re-encrypts every stored secret with the
new key), then drop the old key.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """The token was not made by any of the configured keys (or was tampered with)."""


MISSING = (
    "CDP_ENCRYPTION_KEYS is not set. Set it to one Fernet key (for example the output of "
    "`python manage.py rotate_encryption_key --generate`)."
)


def check_keys() -> str | None:
    """None when the keys are usable, else why not (used by the system check)."""
    keys = [k for k in getattr(settings, "CDP_ENCRYPTION_KEYS", []) if k.strip()]
    if not keys:
        return getattr(settings, "ENCRYPTION_KEYS_MISSING", MISSING)
    try:
        _fernet(tuple(keys))
    except ValueError as exc:
        return f"CDP_ENCRYPTION_KEYS holds a key that is not a Fernet key: {exc}"
    return None


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(getattr(settings, "ENCRYPTION_KEYS_MISSING", MISSING))
    return MultiFernet([Fernet(key.strip().encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.CDP_ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    return _current().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "Cannot decrypt a stored secret: none of CDP_ENCRYPTION_KEYS matches it."
        ) from exc


def rotate(token: str) -> str:
    """The same plaintext, re-encrypted with the first (current) key."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "Cannot re-encrypt a stored secret: none of CDP_ENCRYPTION_KEYS matches it."
        ) from exc


def generate_key() -> str:
    return Fernet.generate_key().decode()
