"""The Segment-compatible endpoints: /v1/identify, track, page, screen, group, alias, batch.

Plain Django views, not DRF: this is the hot path. The answer is 200 {"success": true}
only after the COMMIT; errors are {"code", "message"} as the official clients parse them.
"""

import logging

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from cdp_site.access import public
from integrations import conf, services

from .body import basic_auth_key, client_ip, parse_json, read_body
from .errors import CollectError
from .keys import authenticate, over_rate_limit
from .messages import Rejection, merge_batch_defaults

logger = logging.getLogger(__name__)

CORS_HEADERS = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
    # Lets the browser snippet honour the server's back-off on a 429.
    "Access-Control-Expose-Headers": "Retry-After",
}
SLACK_BYTES = 1024  # room for writeKey and sentAt beside a full-size single message


def _cors(request, response):
    # Any site may send events (the write key is the credential, not a cookie), so the
    # origin is echoed; credentials are not allowed.
    response["Access-Control-Allow-Origin"] = request.META.get("HTTP_ORIGIN") or "*"
    response["Vary"] = "Origin"
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response


def _error(request, exc: CollectError):
    response = JsonResponse({"code": exc.code, "message": exc.message}, status=exc.status)
    if exc.status == 429:
        response["Retry-After"] = "1"
    return _cors(request, response)


def _messages(data, *, batch: bool) -> list:
    if not isinstance(data, dict):
        raise CollectError(400, "invalid_body", "The body must be a JSON object.")
    if not batch:
        return [data]
    items = data.get("batch")
    if not isinstance(items, list):
        raise CollectError(400, "invalid_batch", "batch must be a list of messages.")
    limit = conf.get("COLLECT_MAX_BATCH_MESSAGES")
    if len(items) > limit:
        raise CollectError(400, "batch_too_large", f"A batch holds at most {limit} messages.")
    return [merge_batch_defaults(i, data) if isinstance(i, dict) else i for i in items]


def _collect(request, *, type_: str | None):
    batch = type_ is None
    received_at = timezone.now()
    source = None
    try:
        header_key = basic_auth_key(request)
        if header_key is not None:
            source = authenticate(header_key)
        limit = conf.get("COLLECT_MAX_BATCH_BYTES" if batch else "COLLECT_MAX_MESSAGE_BYTES")
        data = parse_json(read_body(request, limit=limit if batch else limit + SLACK_BYTES))
        if source is None:
            source = authenticate(data.get("writeKey") if isinstance(data, dict) else None)
        messages = _messages(data, batch=batch)
        ip = client_ip(request)
        if over_rate_limit(source, len(messages), ip=ip):
            raise CollectError(429, "rate_limited", "Too many messages for this source.")
    except CollectError as exc:
        if source is not None and exc.status == 400:
            services.record_rejections(
                source_id=source.id,
                rejections=[Rejection(exc.code, exc.message, None)],
                received_at=received_at,
            )
        return _error(request, exc)
    result = services.ingest_messages(
        source_id=source.id,
        messages=messages,
        type_=type_,
        received_at=received_at,
        ip=ip,
        trust=source.trust,
    )
    if not batch and result.rejections:
        rejection = result.rejections[0]
        return _error(request, CollectError(400, rejection.code, rejection.reason))
    return _cors(request, JsonResponse({"success": True}))


def _endpoint(type_: str | None, name: str):
    @public("authenticated by the source's write key")
    @csrf_exempt
    def view(request):
        if request.method == "OPTIONS":
            return _cors(request, HttpResponse(status=200))
        if request.method != "POST":
            return _error(request, CollectError(405, "method_not_allowed", "Use POST."))
        return _collect(request, type_=type_)

    view.__name__ = view.__qualname__ = name
    return view


identify = _endpoint("identify", "identify")
track = _endpoint("track", "track")
page = _endpoint("page", "page")
screen = _endpoint("screen", "screen")
group = _endpoint("group", "group")
alias = _endpoint("alias", "alias")
batch = _endpoint(None, "batch")
