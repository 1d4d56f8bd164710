"""The personalisation benchmark's baseline app: one Redis HGET of the same cached answer
(the same key layout as integrations/collect/personalize.py), nothing else.

Run under the same gunicorn settings as the CDP, so that the difference between the two
is what Django, the key check, the id check and CORS add to a cached answer.
"""

import os
from urllib.parse import parse_qsl

import redis

EMPTY = b'{"segments":[],"traits":{},"stage":null}'
FIELD = os.environ.get("CDP_BENCH_P13N_SOURCE", "0")
_redis = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=0.5)


def application(environ, start_response):
    query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    body = _redis.hget(f"cdp:p13n:a:{query.get('anonymousId', '')}", FIELD) or EMPTY
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
