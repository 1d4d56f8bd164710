"""A plain JSON API, as the generic REST connector meets them: ``GET /customers`` with
``updated_since`` (inclusive) and paging by ``page``/``per_page``, ``offset``/``per_page``,
a ``cursor`` (``next_cursor`` in the body) or the ``Link`` header, newest changes last."""

from __future__ import annotations

from datetime import UTC, datetime

from .server import Imitation, Request


def _when(record: dict) -> str:
    """The record's updated-at as ISO text to compare: an API that sends Unix seconds
    for some records still orders and filters them by their time."""
    value = record.get("updated_at", "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _since(records: list[dict], since: str | None) -> list[dict]:
    chosen = [r for r in records if not since or _when(r) >= since]
    return sorted(chosen, key=lambda r: (_when(r), str(r.get("id"))))


def customers(imitation: Imitation, request: Request):
    if request.path.rstrip("/") != "/customers":
        return 404, {}, {"message": "Not found"}
    with imitation.lock:
        records = _since(list(imitation.records), request.query.get("updated_since"))
    size = int(request.query.get("per_page", 100))
    if "page" in request.query:
        start = (int(request.query["page"]) - 1) * size
    elif "cursor" in request.query or imitation.state.get("style") == "cursor":
        start = int(request.query.get("cursor") or 0)
    else:
        start = int(request.query.get("offset", 0))
    chunk = records[start : start + size]
    following = start + size if start + size < len(records) else None
    headers = {}
    if following is not None and imitation.state.get("style") == "link":
        query = f"offset={following}&per_page={size}"
        if request.query.get("updated_since"):
            query += f"&updated_since={request.query['updated_since']}"
        headers["Link"] = f'<{imitation.url}customers?{query}>; rel="next"'
    body = {"data": chunk, "next_cursor": str(following) if following is not None else None}
    return 200, headers, body


def start(*, records: list[dict] | None = None, token: str = "", style: str = "page") -> Imitation:
    """A running imitation; ``style`` is page, offset, cursor or link."""
    imitation = Imitation(handler=customers, token=token, records=list(records or []))
    imitation.state["style"] = style
    return imitation.start()


def connector_config(*, page_size: int, paging: str = "page", **extra) -> dict:
    """The generic REST connector's settings that read this API's customers; ``extra``
    adds to them (auth, since_param...)."""
    return {
        "path": "/customers",
        "records_path": "$.data",
        "paging": paging,
        "page_size": page_size,
        **extra,
    }
