"""The cache backend: Django's Redis cache that fails open when Redis is unreachable.

Everything this project keeps in the cache is a helper that may be lost: rate-limit
counters (the login limits, the REST API throttles), progress figures, the workers'
heartbeats. So while Redis is down a read misses, a write is dropped and ``add`` reports
success (allauth takes a lock with it: a refused lock would lock everyone out), and a
warning is logged. Logins and the REST API keep working, unthrottled, until Redis is back.

After a failure the backend (one per thread) skips Redis for ``PAUSE_SECONDS``: a
Redis that does not answer would otherwise cost every request a connect timeout per
cache call. /healthz talks to Redis directly (``cache._cache``), so it still reports
the outage.
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PAUSE_SECONDS = 5.0


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0  # monotonic time until which Redis is skipped

    def _call(self, method, fallback, *args):
        """``method(*args)``, or ``fallback`` while Redis is unreachable."""
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return method(*args)
        except RedisError as error:
            self._down_until = time.monotonic() + PAUSE_SECONDS
            logger.warning(
                "cache unavailable (%s: %s): %s fails open; Redis skipped for %.0f s",
                type(error).__name__,
                error,
                method.__name__,
                PAUSE_SECONDS,
            )
            return fallback

    def get(self, key, default=None, version=None):
        return self._call(super().get, default, key, default, version)

    def get_many(self, keys, version=None):
        return self._call(super().get_many, {}, keys, version)

    def has_key(self, key, version=None):
        return self._call(super().has_key, False, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().add, True, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().set, None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().set_many, list(data), data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().touch, False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call(super().delete, False, key, version)

    def delete_many(self, keys, version=None):
        return self._call(super().delete_many, None, keys, version)
