"""Write key → source, cached briefly per process, and the per-source rate limit."""

import logging
import threading
import time
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from cdp_site.redis_client import client
from integrations.models import Source

logger = logging.getLogger(__name__)

CACHE_SECONDS = 2.0
CACHE_MAX_ENTRIES = 10_000
_cache: dict[str, tuple[float, "SourceInfo | None"]] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: int
    enabled: bool
    rate_limit: int


def clear_cache() -> None:
    with _lock:
        _cache.clear()


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
        .values_list("id", "enabled", "rate_limit")
        .first()
    )
    info = SourceInfo(*row) if row else None
    with _lock:
        if len(_cache) >= CACHE_MAX_ENTRIES:
            _cache.clear()
        _cache[key] = (now + CACHE_SECONDS, info)
    return info


def over_rate_limit(source: SourceInfo, messages: int) -> bool:
    """Fixed one-second window per source, counted in messages; fails open without Redis."""
    if source.rate_limit <= 0:
        return False
    window = int(time.time())
    key = f"cdp:collect:rate:{source.id}:{window}"
    try:
        pipe = client().pipeline(transaction=False)
        pipe.incrby(key, messages)
        pipe.expire(key, 2)
        count = pipe.execute()[0]
    except Exception:  # Redis down: keep accepting data rather than refusing it
        logger.warning("rate limit check skipped: Redis unavailable", exc_info=True)
        return False
    return count > source.rate_limit
