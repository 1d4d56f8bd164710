"""Nested connections past their first page: an order's line items, a product's variants.

A page of orders (products) holds each one's first line items (variants); a node whose
nested ``pageInfo`` says there are more is *pending*: ``{"node", "after"}``, the node as
read so far and the nested ``endCursor`` to go on from. ``follow`` asks for the rest with
``order(id:) { lineItems(first:, after:) }`` (``product(id:) { variants(...) }``), adding
each page to the node, until the node is complete, the slice has sent ``MAX_FOLLOW_UPS``
queries, or Shopify's cost bucket says the next query must wait. What is still pending
then goes into the stream's cursor and the next slice (after that wait) goes on with it:
no message is made of an order until it holds every line item (an Order Completed is
stored once), and no query is sent into a throttle.
"""

from __future__ import annotations

from ...base import ConnectorError
from . import api, queries

# Follow-up queries a slice may send (fewer with a small request budget, see
# Reader.calls_to_spare).
MAX_FOLLOW_UPS = 10


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _more(connection: dict) -> str | None:
    """The nested endCursor to go on from, when the connection says there is more."""
    info = _dict(connection.get("pageInfo"))
    end = info.get("endCursor")
    return end if info.get("hasNextPage") is True and isinstance(end, str) and end else None


def split(stream: str, nodes: list) -> tuple[list, list[dict]]:
    """(the nodes complete as read, the pending ones)."""
    if stream not in queries.NESTED:
        return nodes, []
    field = queries.NESTED[stream][0]
    complete, pending = [], []
    for node in nodes:
        after = _more(_dict(_dict(node).get(field)))
        if after and isinstance(node.get("id"), str):
            pending.append({"node": node, "after": after})
        else:
            complete.append(node)
    return complete, pending


def follow(reader, stream: str, pending: list[dict]) -> tuple[list, list[dict], float]:
    """(the nodes completed, those still pending, the seconds the next query must wait)."""
    field, query, root = queries.NESTED[stream]
    completed, left, wait, sent = [], [dict(p) for p in pending], 0.0, 0
    allowed = reader.calls_to_spare(MAX_FOLLOW_UPS)
    while left and not wait and sent < allowed:
        entry = left[0]
        node = entry["node"]
        data, wait = api.graphql(reader, query, {"id": node["id"], "after": entry["after"]})
        sent += 1
        found = _dict(_dict(data.get(root)).get(field))
        held = _dict(node.get(field))
        items = list(held.get("nodes") or []) + list(found.get("nodes") or [])
        after = _more(found)
        if after is not None and after == entry["after"]:
            raise ConnectorError(f"Shopify answered the same {field} cursor again.", code="loop")
        # A node deleted meanwhile answers null: it is complete with what was read.
        node = {**node, field: {"nodes": items, "pageInfo": {"hasNextPage": False}}}
        if after:
            left[0] = {"node": node, "after": after}
        else:
            completed.append(node)
            left.pop(0)
    return completed, left, wait
