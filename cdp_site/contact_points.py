"""E-mail addresses and phone numbers in the one form every app compares and hashes.

Django-free, and in the lowest layer, so that identity resolution (profiles) and the
destinations that hash contact points for ad platforms (integrations) normalise alike.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


def normalize_email(raw) -> str | None:
    """Trimmed and lower-cased, or None when it does not look like an address."""
    value = str(raw or "").strip().lower()
    return value if EMAIL_RE.match(value) else None


@functools.lru_cache(maxsize=65536)  # parsing is slow; a batch repeats its numbers
def normalize_phone(raw: str, region: str) -> str | None:
    """E.164 (``+31612345678``), reading a national number as ``region``'s; None when
    it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
