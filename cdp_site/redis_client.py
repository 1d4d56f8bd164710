"""One Redis client for counters and flags (rate limits, debounced task triggers)."""

import functools

import redis
from django.conf import settings


@functools.cache
def client() -> redis.Redis:
    # Short timeouts: Redis helps (rate limits, debouncing) but must never stall ingestion.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
