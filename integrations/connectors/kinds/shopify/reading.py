"""One read of a Shopify stream: a page of its list, the nested pages it leaves pending,
and, for products, the shop's product deletions.

Cursor: ``{"since": <the newest updatedAt of the last complete pass>}`` between runs;
within a pass also ``after`` (the page's ``endCursor``) and ``max`` (the newest updatedAt
seen so far). A pass asks for ``updated_at:>='since'``, inclusive: a record changed in the
same second as the last one read is not missed, and the overlap is stored once (message
ids; the catalogue keeps the newer row).

While orders or products wait for their nested pages (nested.py) the cursor is
``{"pending": [...], "since": <the pass's lower bound>, "then": <the cursor after the
page>, "then_done": bool}``: the next reads complete them before the list goes on.

Products: after each pass over the list, a pass over the shop's product deletion events
(``events`` with ``subject_type:PRODUCT AND action:destroy``, from ``deleted_since``), each
a deletion record for the catalogue (products.py). ``reading: "deletions"`` marks that
pass, with its own ``deletions_after`` and ``deletions_max``. On a stream's first read
``deleted_since`` starts a day back: a product deleted before then was not in the shop
for the pass to read (the day covers a deletion during the pass and clocks that differ).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ...base import ConnectorError, Page, Stream
from ...records import newest as newest_of
from ...records import parse_time
from . import api, nested, queries, shapes
from .products import deletion

FIRST_DELETIONS_BACK = timedelta(days=1)


def _connection(data: dict, root: str) -> tuple[list, dict]:
    found = data.get(root)
    if not isinstance(found, dict) or not isinstance(found.get("nodes"), list):
        raise ConnectorError(f"Shopify's answer holds no list of {root}.")
    info = found.get("pageInfo")
    return found["nodes"], info if isinstance(info, dict) else {}


def _bound(since) -> str | None:
    """The lower bound as Shopify's search syntax takes it (and nothing that could break
    out of its quotes)."""
    when = parse_time(since)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def _shape(stream: str, nodes: list, *, since: str | None, currency: str | None):
    """(records, rejected (reason, node))."""
    records, rejected = [], []
    for node in nodes:
        try:
            if stream == "customers":
                records.append(shapes.customer(node))
            elif stream == "orders":
                records.extend(shapes.order(node, since=since))
            else:
                records.extend(shapes.product(node, currency=currency))
        except (ValueError, TypeError) as exc:
            rejected.append((f"{stream[:-1].capitalize()}: {exc}", node))
    return records, rejected


def _note(wait: float, pending: list) -> str:
    notes = []
    if pending:
        notes.append(f"{len(pending)} record(s) wait for the rest of their nested items.")
    if wait:
        notes.append(f"Shopify's query budget is low: the next page waits {wait:.1f} s.")
    return " ".join(notes)


def read(reader, *, stream: Stream, cursor) -> Page:
    cursor = dict(cursor or {})
    if cursor.get("pending"):
        return _go_on_pending(reader, stream.name, cursor)
    if cursor.get("reading") == "deletions":
        return _deletions(reader, cursor)
    return _list_page(reader, stream.name, cursor)


def _list_page(reader, stream: str, cursor: dict) -> Page:
    query, root, size = queries.STREAMS[stream]
    since = cursor.get("since")
    bound = _bound(since)
    variables = {
        "first": size,
        "after": cursor.get("after"),
        "query": f"updated_at:>='{bound}'" if bound else None,
    }
    data, wait = api.graphql(reader, query, variables)
    nodes, info = _connection(data, root)
    currency = (data.get("shop") or {}).get("currencyCode") if stream == "products" else None
    complete, pending = nested.split(stream, nodes)
    if pending and not wait:
        completed, pending, wait = nested.follow(reader, stream, pending)
        complete += completed
    records, rejected = _shape(stream, complete, since=since, currency=currency)
    newest = newest_of(
        (n.get("updatedAt") if isinstance(n, dict) else None for n in nodes), cursor.get("max")
    )
    carried = {"deleted_since": _deleted_since(cursor)} if stream == "products" else {}
    end = info.get("endCursor")
    if info.get("hasNextPage") is True and isinstance(end, str) and end and nodes:
        if end == cursor.get("after"):
            raise ConnectorError("Shopify answered the same page cursor again.", code="loop")
        following, done = {"since": since, "max": newest, "after": end, **carried}, False
    elif stream == "products":  # the pass is over: the deletions since the last one next
        following, done = {"since": newest or since, **carried, "reading": "deletions"}, False
    else:
        following, done = {"since": newest or since}, True
    if pending:
        following = {"pending": pending, "since": since, "then": following, "then_done": done}
        following |= {"currency": currency} if currency else {}
        done = False
    page = {"rejected": rejected, "wait": wait, "note": _note(wait, pending)}
    return Page(records, following, done=done, **page)


def _deleted_since(cursor: dict) -> str:
    known = cursor.get("deleted_since")
    if known:
        return known
    start = datetime.now(UTC) - FIRST_DELETIONS_BACK
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def _go_on_pending(reader, stream: str, cursor: dict) -> Page:
    completed, pending, wait = nested.follow(reader, stream, cursor["pending"])
    since, currency = cursor.get("since"), cursor.get("currency")
    records, rejected = _shape(stream, completed, since=since, currency=currency)
    page = {"rejected": rejected, "wait": wait, "note": _note(wait, pending)}
    if pending:
        return Page(records, {**cursor, "pending": pending}, done=False, **page)
    return Page(records, cursor["then"], done=bool(cursor.get("then_done")), **page)


def _deletions(reader, cursor: dict) -> Page:
    """One page of the product deletions since ``deleted_since``."""
    since = cursor.get("deleted_since")
    search = "subject_type:PRODUCT AND action:destroy"
    bound = _bound(since)
    variables = {
        "first": queries.DELETIONS_PAGE,
        "after": cursor.get("deletions_after"),
        "query": f"{search} AND created_at:>='{bound}'" if bound else search,
    }
    data, wait = api.graphql(reader, queries.PRODUCT_DELETIONS, variables)
    nodes, info = _connection(data, "events")
    records, rejected = [], []
    for node in nodes:
        node = node if isinstance(node, dict) else {}
        if node.get("action") != "destroy" or node.get("subjectType") != "PRODUCT":
            continue
        try:
            product_id = shapes.numeric_id(node.get("subjectId"), "Product")
            records.append(deletion(product_id, shapes.time_of(node.get("createdAt"), "createdAt")))
        except ValueError as exc:
            rejected.append((f"Product deletion: {exc}", node))
    newest = newest_of((n.get("createdAt") for n in nodes if isinstance(n, dict)), None)
    newest = newest_of([newest], cursor.get("deletions_max"))
    end = info.get("endCursor")
    note = f"{len(records)} product(s) deleted in the shop. " if records else ""
    page = {"rejected": rejected, "wait": wait, "note": (note + _note(wait, [])).strip()}
    if info.get("hasNextPage") is True and isinstance(end, str) and end and nodes:
        if end == cursor.get("deletions_after"):
            raise ConnectorError("Shopify answered the same events cursor again.", code="loop")
        following = {**cursor, "deletions_after": end, "deletions_max": newest}
        return Page(records, following, done=False, **page)
    following = {"since": cursor.get("since"), "deleted_since": newest or since}
    return Page(records, following, done=True, **page)
