"""Shopify: customers, orders and the product catalogue through the GraphQL Admin API.

api.py       the access token (client credentials renewed, or a fixed token) and the
             GraphQL call with Shopify's cost-based throttling
queries.py   the queries and their page sizes
reading.py   one read: a page of a list, its cursor, the product deletions
nested.py    an order's line items and a product's variants past their first page
shapes.py    nodes → the records the streams' mappings read (orders: one per message)
products.py  the products stream's own store: catalogue rows and deletions
"""

from __future__ import annotations

from ...base import CATALOG, ConnectorError, Field, Kind, Stream
from . import api, queries
from .products import store_products
from .reading import read


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
