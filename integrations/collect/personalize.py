"""GET /v1/personalize: what a website or an app may show this visitor, from the cache.

The reading half of the personalisation API; campaigns owns the content (which
segments, traits and stage are public per source, who consented) and writes the
answers into Redis (campaigns/personalization/). This module only knows where an answer
lives: one Redis hash per identifier, a field per source,

    cdp:p13n:a:<anonymousId>  {"<source id>": "<answer JSON>"}
    cdp:p13n:u:<userId>       {"<source id>": "<answer JSON>"}

and campaigns registers the empty answer's shape at start-up (``register_empty_answer``).
Only people with something to show are cached, so a miss is the empty answer: an unknown
id, a person who refused personalisation consent, a restricted or blocked one and a
person with nothing public all get the same bytes down the same path (one HGET), and
nothing tells them apart.

The request: the source's write key (HTTP Basic username, or ``writeKey`` in the query
so that a page's fetch needs no preflight), and ``anonymousId``, or a ``userId`` with
``signature`` (and the ``email``/``phone`` it signed) made by the site's backend as for
identity verification (collect/verification.py). A client source's unsigned user id
reveals nothing: the empty answer. A browser's Origin must be one of the source's
allowed origins (``Source.personalize_origins``): any other is refused with a 403 that
carries no CORS header, so its page cannot read even that.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from cdp_site.access import public
from cdp_site.redis_client import client

from .body import basic_auth_key
from .errors import CollectError
from .keys import SourceInfo, authenticate
from .messages import MAX_ID_BYTES
from .verification import verified

logger = logging.getLogger(__name__)

PREFIX = "cdp:p13n:"
ANONYMOUS, USER = "a", "u"
_empty = b"{}"
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization",
    "Access-Control-Max-Age": "86400",
}


def cache_key(kind: str, value: str) -> str:
    """Where the answers for the identifier live (``kind``: ANONYMOUS or USER)."""
    return f"{PREFIX}{kind}:{value}"


def register_empty_answer(answer: dict) -> None:
    """Hook: the answer of a visitor with nothing to show, in the shape of a full one
    (campaigns registers it at start-up; the sections it contributes, each empty)."""
    global _empty
    _empty = json.dumps(answer, separators=(",", ":")).encode()


def _identifier(query, source: SourceInfo) -> tuple[str, str] | None:
    """(kind, value) to look up; None when the user id is not proven (nothing is shown)."""
    anonymous_id, user_id = query.get("anonymousId", ""), query.get("userId", "")
    for name, value in (("anonymousId", anonymous_id), ("userId", user_id)):
        if len(value.encode()) > MAX_ID_BYTES:
            raise CollectError(400, "id_too_long", f"{name} is longer than {MAX_ID_BYTES} bytes.")
    if user_id:
        return (USER, user_id) if _proven(query, user_id, source) else None
    if anonymous_id:
        return ANONYMOUS, anonymous_id
    raise CollectError(400, "missing_id", "Send anonymousId, or userId with its signature.")


def _proven(query, user_id: str, source: SourceInfo) -> bool:
    # A server source's key is a secret: its calls are believed. A client source's key
    # ships in pages, so only a user id its backend signed counts.
    if not source.trust.client:
        return True
    email, phone = query.get("email") or None, query.get("phone") or None
    message = {
        "userId": user_id,
        "traits": {"email": email or "", "phone": phone or ""},
        "context": {
            "identityVerification": {
                "userId": user_id,
                "email": email,
                "phone": phone,
                "signature": query.get("signature", ""),
            }
        },
    }
    return "userId" in verified(message, source.trust.secrets)


def _cached(identifier: tuple[str, str] | None, source_id: int) -> bytes:
    if identifier is None:
        return _empty
    try:
        answer = client().hget(cache_key(*identifier), str(source_id))
    except Exception:  # Redis down: the page shows its default content, not an error
        logger.warning("personalisation cache unavailable", exc_info=True)
        return _empty
    return answer or _empty


def _allow_origin(response, origin: str | None):
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        for name, value in CORS_HEADERS.items():
            response[name] = value
    response["Vary"] = "Origin"
    return response


def _error(exc: CollectError, origin: str | None):
    # Refusals about the request itself (key, ids) say nothing of any person: the page
    # may read them, so a developer sees why.
    response = JsonResponse({"code": exc.code, "message": exc.message}, status=exc.status)
    return _allow_origin(response, origin)


def _refused_origin():
    body = {"code": "origin_not_allowed", "message": "This origin may not read this source."}
    response = JsonResponse(body, status=403)
    response["Vary"] = "Origin"
    return response


@public("authenticated by the source's write key and the visitor's id")
@csrf_exempt
def personalize(request):
    origin = request.META.get("HTTP_ORIGIN")
    try:
        if request.method not in ("GET", "OPTIONS"):
            raise CollectError(405, "method_not_allowed", "Use GET.")
        source = authenticate(basic_auth_key(request) or request.GET.get("writeKey"))
        if origin and origin not in source.origins:
            return _refused_origin()
        if request.method == "OPTIONS":
            return _allow_origin(HttpResponse(status=204), origin)
        identifier = _identifier(request.GET, source)
    except CollectError as exc:
        return _error(exc, origin)
    response = HttpResponse(_cached(identifier, source.id), content_type="application/json")
    response["Cache-Control"] = "private, no-store"
    return _allow_origin(response, origin)
