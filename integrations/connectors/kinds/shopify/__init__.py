"""Shopify: customers, orders and the product catalogue through the GraphQL Admin API.

api.py      the access token (client credentials renewed, or a fixed token) and the
            GraphQL call with Shopify's cost-based throttling
queries.py  the queries and their page sizes
shapes.py   nodes → the records the streams' mappings read (orders: one per message)

Cursor: ``{"since": <the newest updatedAt of the last complete pass>}`` between runs;
within a pass also ``after`` (the page's ``endCursor``) and ``max`` (the newest updatedAt
seen so far). A pass asks for ``updated_at:>='since'``, inclusive: a record changed in the
same second as the last one read is not missed, and the overlap is stored once (message
ids; the catalogue keeps the newer row).
"""

from __future__ import annotations

from datetime import UTC

from ...base import CATALOG, ConnectorError, Field, Kind, Page, Stream
from ...records import newest as newest_of
from ...records import parse_time
from . import api, queries, shapes
from .products import store_products


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


def _shape(stream: str, nodes: list, *, since: str | None, data: dict):
    """(records, rejected (reason, node), notes)."""
    records, rejected, notes = [], [], []
    currency = (data.get("shop") or {}).get("currencyCode") if stream == "products" else None
    cut = 0
    for node in nodes:
        try:
            if stream == "customers":
                records.append(shapes.customer(node))
            elif stream == "orders":
                records.extend(shapes.order(node, since=since))
            else:
                rows, more = shapes.product(node, currency=currency)
                records.extend(rows)
                cut += more
        except (ValueError, TypeError) as exc:
            rejected.append((f"{stream[:-1].capitalize()}: {exc}", node))
    if cut:
        notes.append(
            f"{cut} product(s) have more than {queries.VARIANTS_PER_PRODUCT} variants; the "
            "catalogue holds their first ones."
        )
    return records, rejected, notes


def read(reader, *, stream: Stream, cursor) -> Page:
    query, root, size = queries.STREAMS[stream.name]
    cursor = dict(cursor or {})
    since = cursor.get("since")
    bound = _bound(since)
    variables = {
        "first": size,
        "after": cursor.get("after"),
        "query": f"updated_at:>='{bound}'" if bound else None,
    }
    data, wait = api.graphql(reader, query, variables)
    nodes, info = _connection(data, root)
    records, rejected, notes = _shape(stream.name, nodes, since=since, data=data)
    if wait:
        notes.append(f"Shopify's query budget is low: the next page waits {wait:.1f} s.")
    newest = newest_of(
        (n.get("updatedAt") if isinstance(n, dict) else None for n in nodes), cursor.get("max")
    )
    end = info.get("endCursor")
    page = {"rejected": rejected, "wait": wait, "note": " ".join(notes)}
    if info.get("hasNextPage") is True and isinstance(end, str) and end and nodes:
        if end == cursor.get("after"):
            raise ConnectorError("Shopify answered the same page cursor again.", code="loop")
        return Page(records, {"since": since, "max": newest, "after": end}, done=False, **page)
    return Page(records, {"since": newest or since}, done=True, **page)


def check(reader) -> None:
    data, _ = api.graphql(reader, queries.SHOP)
    if not isinstance(data.get("shop"), dict):
        raise ConnectorError("Shopify's answer names no shop.")


CUSTOMER_RULES = """userId = $.id
traits.email = $.email
traits.firstName = $.firstName
traits.lastName = $.lastName
traits.phone = $.phone
traits.emailOptIn = $.emailOptIn
traits.tags = $.tags
traits.numberOfOrders = $.numberOfOrders
traits.amountSpent = $.amountSpent
traits.currency = $.currency
timestamp = $.updatedAt"""

ORDER_RULES = """event = $.event
userId = $.userId
anonymousId = $.anonymousId
timestamp = $.timestamp
properties.order_id = $.order_id
properties.order_name = $.name
properties.revenue = $.revenue
properties.total = $.total
properties.currency = $.currency
properties.products = $.products
properties.financial_status = $.financial_status
context.traits = $.traits"""

KIND = Kind(
    key="shopify",
    label="Shopify",
    source_kind="server",
    default_base_url="https://your-store.myshopify.com/",
    help="A Shopify store's customers, orders and products (GraphQL Admin API). Base URL: "
    "https://<store>.myshopify.com/.",
    config=(
        Field(
            "client_id",
            "Client ID",
            help="A Dev Dashboard app's client ID: with its secret, the connector requests "
            "its own access tokens (they last 24 hours). Blank with an admin API token.",
        ),
        Field("api_version", "API version", default=api.API_VERSION, help="e.g. 2025-10"),
    ),
    secrets=(
        Field(
            "access_token",
            "Admin API access token",
            help="A custom app's token (shpat_…); blank with a client ID and secret.",
        ),
        Field("client_secret", "Client secret"),
    ),
    streams=(
        Stream(
            name="customers",
            label="Customers",
            primary_key="$.id",
            updated_at="$.updatedAt",
            message_kind="identify",
            rules=CUSTOMER_RULES,
            help="One identify call per customer change; emailOptIn is the e-mail consent.",
        ),
        Stream(
            name="orders",
            label="Orders",
            primary_key="$.key",
            updated_at="$.timestamp",
            message_kind="track",
            rules=ORDER_RULES,
            once_per_record=True,
            help="Order Completed once per order (its revenue); later edits are Order "
            "Updated, refunds Order Refunded, cancellations Order Cancelled.",
        ),
        Stream(
            name="products",
            label="Products",
            primary_key="$.external_id",
            updated_at="$.updated_at",
            message_kind=CATALOG,
            rules="",
            help="Fills the product catalogue (one row per variant); no events.",
            store=store_products,
        ),
    ),
    read=read,
    check=check,
    default_budget=300,
)
