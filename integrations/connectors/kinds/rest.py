"""Generic REST: enough to connect a JSON API we have no connector for.

The admin names the endpoint, where the records are in an answer (``records_path``), how
the API pages (page number, offset, a cursor in the body, or the ``Link`` header), how it
authenticates (bearer, basic, an API-key header or query parameter) and, for incremental
reads, the query parameter that asks for records changed since a time.

Cursor: ``{"since": <the newest updated-at of the last complete pass>}`` between runs;
within a pass also where paging stands (``page``, ``offset``, ``token`` or ``next``) and
``max``, the newest updated-at seen so far in the pass. The next pass asks for records
changed since ``max`` (inclusive where the API is: the overlap is deduplicated by the
message ids).
"""

from __future__ import annotations

import base64
import re

from integrations.webhooks.mapping import MISSING, RuleError, parse_path, resolve

from ..base import ConnectorError, Field, Kind, Page, Stream
from ..records import newest as newest_of

PAGINGS = (
    ("none", "One request, no paging"),
    ("page", "Page number"),
    ("offset", "Offset and limit"),
    ("cursor", "Cursor in the answer's body"),
    ("link", "Link header (rel=next)"),
)
AUTHS = (
    ("none", "None"),
    ("bearer", "Bearer token"),
    ("basic", "Basic (user name and password)"),
    ("header", "API key in a header"),
    ("query", "API key in the query string"),
)
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;[^,]*rel="?next"?', re.IGNORECASE)


def _config(reader) -> dict:
    defaults = {f.name: f.default for f in KIND.config if f.default is not None}
    return defaults | {k: v for k, v in reader.config.items() if v not in (None, "")}


def _records(body, path: str) -> list:
    try:
        found = resolve(body, parse_path(path))
    except RuleError as exc:
        raise ConnectorError(f"records_path: {exc}", code="config") from None
    if found is MISSING or not isinstance(found, list):
        raise ConnectorError(f"The answer holds no list of records at {path}.", code="config")
    return found


def _auth(reader, config: dict) -> tuple[dict, dict]:
    """(headers, query parameters) that authenticate a request."""
    auth, secrets = config.get("auth", "none"), reader.secrets
    key = secrets.get("token", "")
    if auth == "bearer":
        return {"Authorization": f"Bearer {key}"}, {}
    if auth == "basic":
        pair = f"{secrets.get('username', '')}:{secrets.get('password', '')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}, {}
    if auth == "header":
        return {config.get("key_name") or "X-API-Key": key}, {}
    if auth == "query":
        return {}, {config.get("key_name") or "api_key": key}
    return {}, {}


def _request(config: dict, cursor: dict) -> tuple[str, dict]:
    """The path and query of the next page."""
    params: dict = {}
    if config.get("since_param") and cursor.get("since"):
        params[config["since_param"]] = cursor["since"]
    paging, size = config["paging"], int(config["page_size"])
    if paging == "page":
        params[config["page_param"]] = cursor.get("page", int(config["first_page"]))
        params[config["size_param"]] = size
    elif paging == "offset":
        params[config["offset_param"]] = cursor.get("offset", 0)
        params[config["size_param"]] = size
    elif paging == "cursor" and cursor.get("token"):
        params[config["cursor_param"]] = cursor["token"]
    if paging == "link" and cursor.get("next"):
        return cursor["next"], {}
    return config["path"], params


def _following(config: dict, cursor: dict, records: list, body, response) -> dict | None:
    """Where the next page of this pass is, or None when this one was the last."""
    paging, size = config["paging"], int(config["page_size"])
    if paging == "page" and len(records) >= size:
        return {"page": cursor.get("page", int(config["first_page"])) + 1}
    if paging == "offset" and len(records) >= size:
        return {"offset": cursor.get("offset", 0) + len(records)}
    if paging == "cursor":
        token = resolve(body, parse_path(config["next_cursor_path"]))
        if token in (MISSING, None, ""):
            return None
        if token == cursor.get("token"):
            raise ConnectorError("The API answered the same next cursor again.", code="loop")
        return {"token": token}
    if paging == "link":
        match = _LINK_NEXT.search(response.headers.get("link", ""))
        if not match:
            return None
        if match.group(1) == cursor.get("next"):
            raise ConnectorError(
                "The API's Link header points at the same page again.", code="loop"
            )
        return {"next": match.group(1)}
    return None


def read(reader, *, stream: Stream, cursor) -> Page:
    config, cursor = _config(reader), dict(cursor or {})
    headers, auth_params = _auth(reader, config)
    path, params = _request(config, cursor)
    response = reader.send("GET", path, params=params | auth_params, headers=headers)
    body = reader.parse(response)
    records = _records(body, config["records_path"])
    newest = cursor.get("max")
    if stream.updated_at:
        steps = parse_path(stream.updated_at)
        newest = newest_of((resolve(r, steps) for r in records), newest)
    following = _following(config, cursor, records, body, response)
    if following is not None and records:
        return Page(records, {"since": cursor.get("since"), "max": newest, **following}, done=False)
    return Page(records, {"since": newest or cursor.get("since")}, done=True)


def check(reader) -> None:
    config = _config(reader)
    headers, auth_params = _auth(reader, config)
    path, params = _request(config, {})
    body = reader.parse(reader.send("GET", path, params=params | auth_params, headers=headers))
    _records(body, config["records_path"])


KIND = Kind(
    key="rest",
    label="Generic REST API",
    source_kind="server",
    default_base_url="https://api.example.com/",
    help="Any JSON API: name the endpoint, where its records are, and how it pages.",
    config=(
        Field("path", "Endpoint path", required=True, default="/", help="e.g. /v2/customers"),
        Field(
            "records_path", "Records path", default="$", help="JSON path of the list, e.g. $.data"
        ),
        Field("paging", "Paging", type="choice", default="none", choices=PAGINGS),
        Field("page_size", "Page size", type="int", default=100),
        Field("page_param", "Page parameter", default="page"),
        Field("first_page", "First page number", type="int", default=1),
        Field("size_param", "Page size parameter", default="per_page"),
        Field("offset_param", "Offset parameter", default="offset"),
        Field("cursor_param", "Cursor parameter", default="cursor"),
        Field("next_cursor_path", "Next cursor path", default="$.next_cursor"),
        Field(
            "since_param", "Changed-since parameter", help="e.g. updated_since; blank: full reads"
        ),
        Field("auth", "Authentication", type="choice", default="none", choices=AUTHS),
        Field("key_name", "API key header or parameter name", help="e.g. X-API-Key"),
    ),
    secrets=(
        Field("token", "Token or API key"),
        Field("username", "User name"),
        Field("password", "Password"),
    ),
    streams=(
        Stream(
            name="records",
            label="Records",
            primary_key="$.id",
            updated_at="$.updated_at",
            message_kind="identify",
            rules="userId = $.id\ntraits.email = $.email\ntimestamp = $.updated_at",
            help="Edit the mapping to the API's fields; track calls for orders or activity.",
        ),
    ),
    read=read,
    check=check,
)
