"""Identity verification: a client source's call proves who it is about.

A client source's write key ships in web pages and apps, so anyone can send calls with
it. A call may link to a known customer (by user id, e-mail or phone) only when the
site's backend vouched for those values: it signs them with the source's verification
secret, and the page or app carries the signature inside the message, so batches and
the snippet carry it as they carry any field:

    "context": {"identityVerification": {
        "userId": "u-123", "email": "ann@example.com",          # what is vouched for
        "signature": hex(HMAC-SHA256(secret, "u-123\\nann@example.com\\n"))}}

The signed text is the user id, the e-mail and the phone, each followed by a newline
(an empty line for what is left out), so every language builds it the same way. Each
vouched value counts only where the message asserts that same value (``userId``; the
``email`` and ``phone`` of its traits or context.traits, compared trimmed, the e-mail
case-insensitively): a signature from a login page also verifies the user id of every
later track call. Nothing here touches the database; ``prepare`` calls ``verified``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

FIELDS = ("userId", "email", "phone")


def signed_text(*, user_id: str = "", email: str = "", phone: str = "") -> bytes:
    return f"{user_id}\n{email}\n{phone}\n".encode()


def signature(secret: str, *, user_id: str = "", email: str = "", phone: str = "") -> str:
    """What the site's backend computes (README shows the same in Python and JavaScript)."""
    text = signed_text(user_id=user_id, email=email, phone=phone)
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def sign(message: dict, secret: str) -> dict:
    """The message with a verification of its user id, e-mail and phone (the demo's
    website and the tests sign the way a site's backend does)."""
    asserted = _asserted(message)
    vouched = {k: v for k, v in asserted.items() if v}
    vouched["signature"] = signature(
        secret,
        user_id=asserted["userId"],
        email=asserted["email"],
        phone=asserted["phone"],
    )
    context = dict(message.get("context") or {})
    context["identityVerification"] = vouched
    return {**message, "context": context}


def claims(message: dict) -> bool:
    """Does the message state a user id, an e-mail or a phone (anything to vouch for)?"""
    return any(_asserted(message).values())


def verified(message: dict, secrets: tuple[str, ...]) -> list[str]:
    """Which of userId, email and phone this message proves, in that order: those the
    signature vouches for (under one of ``secrets``) and the message asserts."""
    context = message.get("context")
    claim = context.get("identityVerification") if isinstance(context, dict) else None
    if not isinstance(claim, dict) or not secrets:
        return []
    vouched = {k: claim.get(k) for k in FIELDS}
    # A newline inside a value would let one signed text read as other values.
    if not all(v is None or (isinstance(v, str) and "\n" not in v) for v in vouched.values()):
        return []
    given = claim.get("signature")
    if not isinstance(given, str):
        return []
    text = {k: (v or "") for k, v in vouched.items()}
    if not _valid(secrets, text["userId"], text["email"], text["phone"], given.lower()):
        return []
    asserted = _asserted(message)
    return [k for k in FIELDS if vouched[k] and _same(k, vouched[k], asserted[k])]


@functools.lru_cache(maxsize=4096)
def _valid(secrets: tuple[str, ...], user_id: str, email: str, phone: str, given: str) -> bool:
    # Cached: a signed-in visitor's every call carries the same proof.
    given_bytes = given.encode("utf-8", "replace")
    return any(
        hmac.compare_digest(
            given_bytes, signature(s, user_id=user_id, email=email, phone=phone).encode()
        )
        for s in secrets
    )


def _same(field: str, vouched: str, asserted: str) -> bool:
    vouched, asserted = vouched.strip(), asserted.strip()
    if field == "email":
        return vouched.lower() == asserted.lower()
    return vouched == asserted


def _asserted(message: dict) -> dict[str, str]:
    """The user id, e-mail and phone the message states, as text ("" when it does not)."""
    found = {"userId": _text(message.get("userId")), "email": "", "phone": ""}
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    for traits in (message.get("traits"), context.get("traits")):
        if isinstance(traits, dict):
            for key in ("email", "phone"):
                found[key] = found[key] or _text(traits.get(key))
    return found


def _text(value) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)
