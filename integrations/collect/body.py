"""Turning an HTTP request into JSON: size caps, gzip, UTF-8, JSON, write key, client IP."""

import base64
import binascii
import json
import zlib

from cdp_site.clientip import client_ip  # noqa: F401 (read here by the collection API and webhooks)
from integrations import conf

from .errors import CollectError


def read_body(request, *, limit: int) -> bytes:
    """The request body, decompressed when gzipped, never more than ``limit`` bytes of either."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise CollectError(400, "request_too_large", f"The body exceeds {limit} bytes.")
    # Read one byte past the cap so a chunked body without Content-Length is caught too.
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise CollectError(400, "request_too_large", f"The body exceeds {limit} bytes.")
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise CollectError(400, "unsupported_encoding", "Only gzip Content-Encoding is accepted.")
    return _gunzip(raw, limit=limit)


def _gunzip(raw: bytes, *, limit: int) -> bytes:
    # max_length stops a gzip bomb after limit+1 output bytes instead of inflating it all.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise CollectError(400, "invalid_gzip", "The body is not valid gzip data.") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise CollectError(
            400, "request_too_large", f"The decompressed body exceeds {limit} bytes."
        )
    if not inflater.eof:
        raise CollectError(400, "invalid_gzip", "The gzip data is truncated.")
    return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CollectError(
            400, "invalid_utf8", f"The body is not valid UTF-8 (byte {exc.start})."
        ) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise CollectError(
            400, "too_deep", f"The JSON is nested deeper than {conf.get('COLLECT_MAX_DEPTH')}."
        ) from None
    except ValueError as exc:
        raise CollectError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from None


def basic_auth_key(request) -> str | None:
    """The write key sent as the HTTP Basic username (password empty), or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise CollectError(401, "invalid_write_key", "Malformed Basic credentials.") from None
    return decoded.partition(":")[0] or None
