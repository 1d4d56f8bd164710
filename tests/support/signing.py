"""Signing messages the way a client source's backend does (identity verification)."""

from integrations import services
from integrations.collect.verification import claims, sign


def signed(source, *messages: dict) -> list[dict]:
    """The messages as a site with identity verification sends them: each that states a
    user id, e-mail or phone carries its backend's signature. Server sources' as they are."""
    if not source.is_client:
        return list(messages)
    secret = services.verification_secret(source=source)
    return [sign(m, secret) if claims(m) else m for m in messages]
