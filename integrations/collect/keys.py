"""Write key → source, cached briefly per process, and the per-source and per-address
rate limits."""

import logging
import threading
import time
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from cdp_site import crypto
from cdp_site.redis_client import client
from integrations.models import Source

from .errors import CollectError
from .messages import Trust

logger = logging.getLogger(__name__)

CACHE_SECONDS = 2.0
CACHE_MAX_ENTRIES = 10_000
_cache: dict[str | int, tuple[float, "SourceInfo | None"]] = {}
_lock = threading.Lock()
COLUMNS = (
    "id",
    "enabled",
    "rate_limit",
    "ip_rate_limit",
    "trust",
    "require_verification",
    "verification_secret_encrypted",
    "personalize_origins",
)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: int
    enabled: bool
    rate_limit: int
    ip_rate_limit: int
    trust: Trust
    origins: frozenset[str] = frozenset()  # may read personalisation answers (CORS)


def _info(row) -> "SourceInfo":
    pk, enabled, rate_limit, ip_rate_limit, trust, require, secret, origins = row
    secrets = (crypto.decrypt(secret),) if secret else ()
    client_trust = Trust(
        client=trust == Source.Trust.CLIENT, require_verification=require, secrets=secrets
    )
    return SourceInfo(
        pk, enabled, rate_limit, ip_rate_limit, client_trust, frozenset(origins or ())
    )


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _remember(key: str | int, now: float, info: "SourceInfo | None") -> None:
    with _lock:
        if len(_cache) >= CACHE_MAX_ENTRIES:
            _cache.clear()
        _cache[key] = (now + CACHE_SECONDS, info)


def source_by_id(source_id: int) -> "SourceInfo | None":
    """The source with this id (ingestion outside the API reads its trust here)."""
    now = time.monotonic()
    hit = _cache.get(source_id)
    if hit and hit[0] > now:
        return hit[1]
    row = Source.objects.filter(pk=source_id).values_list(*COLUMNS).first()
    info = _info(row) if row else None
    _remember(source_id, now, info)
    return info


def source_for_key(key: str) -> SourceInfo | None:
    """The source this key belongs to (current key, or previous key within its grace)."""
    if not key or len(key) > 64:
        return None
    now = time.monotonic()
    hit = _cache.get(key)
    if hit and hit[0] > now:
        return hit[1]
    row = (
        Source.objects.filter(
            Q(write_key=key)
            | Q(previous_write_key=key, previous_key_valid_until__gt=timezone.now()),
            archived_at=None,  # an archived source's keys are unknown keys
        )
        .values_list(*COLUMNS)
        .first()
    )
    info = _info(row) if row else None
    _remember(key, now, info)
    return info


def authenticate(key) -> SourceInfo:
    """The enabled source of ``key``, or the CollectError (401) the SDKs parse."""
    if key is not None and not isinstance(key, str):
        raise CollectError(401, "invalid_write_key", "writeKey must be a string.")
    if not key:
        raise CollectError(
            401, "missing_write_key", "Send the write key as the Basic username or writeKey."
        )
    source = source_for_key(key)
    if source is None:
        raise CollectError(401, "invalid_write_key", "Unknown write key.")
    if not source.enabled:
        raise CollectError(401, "source_disabled", "This source is disabled.")
    return source


def over_rate_limit(source: SourceInfo, messages: int, *, ip: str | None = None) -> bool:
    """Fixed one-second windows, counted in messages: one per source and one per source
    and client address (client sources default to a low one: a page's visitor sends a
    few messages a second). One Redis round trip for both; fails open without Redis."""
    window = int(time.time())
    limits = []
    if source.rate_limit > 0:
        limits.append((f"cdp:collect:rate:{source.id}:{window}", source.rate_limit))
    if source.ip_rate_limit > 0 and ip:
        limits.append((f"cdp:collect:iprate:{source.id}:{ip}:{window}", source.ip_rate_limit))
    if not limits:
        return False
    try:
        pipe = client().pipeline(transaction=False)
        for key, _ in limits:
            pipe.incrby(key, messages)
            pipe.expire(key, 2)
        counts = pipe.execute()[::2]
    except Exception:  # Redis down: keep accepting data rather than refusing it
        logger.warning("rate limit check skipped: Redis unavailable", exc_info=True)
        return False
    return any(count > limit for count, (_, limit) in zip(counts, limits, strict=True))
