"""A Shopify store's GraphQL Admin API, as the Shopify connector meets it (loopback only).

- ``POST /admin/oauth/access_token`` (form or JSON: client_id, client_secret,
  grant_type=client_credentials) answers ``{"access_token", "scope", "expires_in": 86399}``;
  wrong credentials answer 400 ``{"error": "invalid_client", ...}``. A fixed admin token
  (a legacy custom app's ``shpat_…``) works too.
- ``POST /admin/api/<version>/graphql.json`` with ``X-Shopify-Access-Token`` answers the
  ``customers``, ``orders``, ``products`` and ``shop`` root fields: ``first``/``after`` cursor
  paging with ``pageInfo { hasNextPage endCursor }``, ``sortKey: UPDATED_AT``, and the
  search syntax ``updated_at:>'…'`` / ``updated_at:>='…'``; ``order(id:)`` and
  ``product(id:)`` (null when there is none), whose nested connection pages from the
  ``$after`` variable; and ``events`` (``sortKey: CREATED_AT``; the search terms
  ``subject_type:``, ``action:`` and ``created_at:>='…'``), holding a product's deletion
  (``delete_product``) as Shopify's BasicEvent of action ``destroy``. An unknown or
  expired token answers 401 ``{"errors": "[API] Invalid API key or access token ..."}``.
- Cost-based throttling: a leaky bucket per store (``maximumAvailable``, ``restoreRate``),
  the requested cost estimated from the query's ``first`` arguments; every answer carries
  ``extensions.cost``; a query the bucket cannot pay for answers 200 with
  ``errors: [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]``, and one over
  the single-query limit of 1,000 points answers ``MAX_COST_EXCEEDED``.

The store's records are GraphQL nodes as Shopify returns them (``gid://shopify/...`` ids,
``MoneyBag`` amounts as decimal strings); nested connections (``lineItems``, ``variants``)
are kept as lists and answered as ``{"nodes": [...], "pageInfo": {...}}`` cut to the
query's ``first`` (from ``after``, an opaque cursor of the position). The
imitation's clock can be moved on (``advance``) so tests wait without sleeping.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from urllib.parse import parse_qs

from .server import Imitation, Request

TOKEN_LIFETIME = 86399
MAX_QUERY_COST = 1000
SCOPES = "read_customers,read_orders,read_products"
# Shopify's 401 message, not a password.
REFUSED = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_ROOT = re.compile(r"\b(customers|orders|products|events|order|product)\s*\(")
_SINGLE = {"order": "orders", "product": "products"}
_FIRST = re.compile(r"\(\s*first:\s*(\d+)")
_GRAPHQL_PATH = re.compile(r"^/admin/api/[\w-]+/graphql\.json$")


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def money(amount, currency: str = "USD") -> dict:
    return {"shopMoney": {"amount": f"{float(amount):.2f}", "currencyCode": currency}}


# --- records as Shopify returns them ---------------------------------------------------


def customer(n: int, *, updated: str = "2026-03-01T10:00:00Z", **extra) -> dict:
    return {
        "id": gid("Customer", 7000 + n),
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "createdAt": "2026-01-05T09:00:00Z",
        "updatedAt": updated,
        "tags": ["vip"] if n % 10 == 0 else [],
        "numberOfOrders": str(n % 4),
        "amountSpent": {"amount": f"{n * 10:.2f}", "currencyCode": "USD"},
        "defaultEmailAddress": {
            "emailAddress": f"shopper{n}@example.com",
            "marketingState": "SUBSCRIBED" if n % 2 == 0 else "NOT_SUBSCRIBED",
        },
        "defaultPhoneNumber": {
            "phoneNumber": f"+1303555{n:04d}",
            "marketingState": "NOT_SUBSCRIBED",
        },
        **extra,
    }


def line_item(n: int, *, sku: str = "TH-1001", price: float = 349.0, quantity: int = 1) -> dict:
    return {
        "id": gid("LineItem", 90000 + n),
        "name": f"Item {sku}",
        "sku": sku,
        "quantity": quantity,
        "variant": {"id": gid("ProductVariant", 44000 + n)},
        "product": {"id": gid("Product", 8000 + n), "productType": "Tents"},
        "originalUnitPriceSet": money(price),
    }


def order(
    n: int,
    *,
    customer_n: int | None = 1,
    total: float = 349.0,
    created: str = "2026-03-02T12:00:00Z",
    updated: str | None = None,
    **extra,
) -> dict:
    return {
        "id": gid("Order", 5000 + n),
        "name": f"#{1000 + n}",
        "email": f"shopper{customer_n}@example.com"
        if customer_n is not None
        else "guest@example.com",
        "createdAt": created,
        "processedAt": created,
        "updatedAt": updated or created,
        "cancelledAt": None,
        "test": False,
        "displayFinancialStatus": "PAID",
        "customer": {"id": gid("Customer", 7000 + customer_n)} if customer_n is not None else None,
        "totalPriceSet": money(total),
        "currentTotalPriceSet": money(total),
        "lineItems": [line_item(n, price=total)],
        "refunds": [],
        **extra,
    }


def product(n: int, *, updated: str = "2026-03-01T10:00:00Z", variants: int = 2, **extra) -> dict:
    return {
        "id": gid("Product", 8000 + n),
        "title": f"Product {n}",
        "productType": "Tents",
        "status": "ACTIVE",
        "updatedAt": updated,
        "onlineStoreUrl": f"https://shop.example/products/p{n}",
        "featuredMedia": {"preview": {"image": {"url": f"https://cdn.example/p{n}.jpg"}}},
        "variants": [
            {
                "id": gid("ProductVariant", 44000 + n * 10 + v),
                "sku": f"SKU-{n}-{v}",
                "title": "Default Title" if variants == 1 else f"Size {v}",
                "price": f"{100 + n + v:.2f}",
                "availableForSale": v != 1,
            }
            for v in range(variants)
        ],
        **extra,
    }


# --- the store --------------------------------------------------------------------------


class Store:
    """What the handler answers from: records, credentials, the cost bucket and a clock."""

    def __init__(self, imitation: Imitation):
        self.imitation = imitation

    @property
    def state(self) -> dict:
        return self.imitation.state

    def now(self) -> float:
        return time.monotonic() + self.state["clock"]

    def advance(self, seconds: float) -> None:
        """Moves the store's clock on: the bucket refills, issued tokens age."""
        with self.imitation.lock:
            self.state["clock"] += seconds

    def throttle(self, *, available: float) -> None:
        """Empties the bucket down to ``available`` points."""
        with self.imitation.lock:
            self.state["bucket"].update(available=float(available), at=self.now())

    def revoke(self) -> None:
        """Every token stops working (the app uninstalled, the admin token rotated)."""
        with self.imitation.lock:
            self.state["admin_token"] = "rotated-" + secrets.token_hex(4)
            self.state["issued"].clear()

    def put(self, resource: str, record: dict) -> None:
        """Adds ``record`` or replaces the one with its id (an edit, a refund)."""
        with self.imitation.lock:
            records = self.state[resource]
            for i, held in enumerate(records):
                if held.get("id") == record.get("id"):
                    records[i] = record
                    return
            records.append(record)

    def delete_product(self, product_gid: str, *, at: str) -> None:
        """Deletes the product as the shop's admin would: it is gone from every query, and
        a BasicEvent of action ``destroy`` records it."""
        with self.imitation.lock:
            products = self.state["products"]
            products[:] = [p for p in products if p.get("id") != product_gid]
            number = len(self.state["events"]) + 1
            self.state["events"].append(
                {
                    "id": gid("BasicEvent", 60000 + number),
                    "action": "destroy",
                    "createdAt": at,
                    "message": f"Product {product_gid.rsplit('/', 1)[-1]} was deleted.",
                    "subjectId": product_gid,
                    "subjectType": "PRODUCT",
                }
            )


def store(imitation: Imitation) -> Store:
    return Store(imitation)


def _form(request: Request) -> dict:
    if "json" in request.headers.get("content-type", ""):
        try:
            body = request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    return {k: v[-1] for k, v in parse_qs(request.body.decode(errors="replace")).items()}


def _issue(shop: Store, request: Request):
    form = _form(request)
    expected = shop.state.get("client")
    if form.get("grant_type") != "client_credentials":
        return 400, {}, {"error": "unsupported_grant_type"}
    if not expected or (form.get("client_id"), form.get("client_secret")) != expected:
        return (
            400,
            {},
            {
                "error": "invalid_client",
                "error_description": "Client authentication failed: wrong client ID or secret.",
            },
        )
    token = "shpat_" + secrets.token_hex(12)
    with shop.imitation.lock:
        shop.state["issued"][token] = shop.now() + TOKEN_LIFETIME
    return 200, {}, {"access_token": token, "scope": SCOPES, "expires_in": TOKEN_LIFETIME}


def _token_valid(shop: Store, token: str) -> bool:
    if token and token == shop.state.get("admin_token"):
        return True
    expires = shop.state["issued"].get(token)
    return expires is not None and expires > shop.now()


def _cursor(position) -> str:
    return base64.b64encode(json.dumps(position).encode()).decode()


def _position(cursor: str):
    return json.loads(base64.b64decode(cursor))


_TERM = re.compile(r"\b(subject_type|action):\s*(\w+)")


def _select(records: list[dict], search: str | None, after: str | None, *, on: str) -> list:
    """The records matching ``search``, sorted by ``on`` (updatedAt, or an event's
    createdAt) and id, past ``after``."""
    chosen = sorted(records, key=lambda r: (r.get(on) or "", r.get("id") or ""))
    match = re.search(r"(?:updated_at|created_at):\s*(>=?)\s*'([^']*)'", search or "")
    if match:
        op, bound = match.groups()
        chosen = [r for r in chosen if (r[on] >= bound if op == ">=" else r[on] > bound)]
    for field, value in _TERM.findall(search or ""):
        key = "subjectType" if field == "subject_type" else "action"
        chosen = [r for r in chosen if str(r.get(key, "")).upper() == value.upper()]
    if after:
        position = tuple(_position(after))
        chosen = [r for r in chosen if (r[on], r["id"]) > position]
    return chosen


def _shaped(record: dict, nested: dict[str, int], after: str | None = None) -> dict:
    """The node as the query asks for it: nested lists cut to their ``first`` (from
    ``after``, for a query of one order or product)."""
    node = dict(record)
    for name in ("lineItems", "variants"):
        if isinstance(node.get(name), list):
            items = node[name]
            start = _position(after) if after else 0
            size = nested.get(name, len(items))
            end = min(start + size, len(items))
            info = {"hasNextPage": end < len(items), "endCursor": _cursor(end) if end else None}
            node[name] = {"nodes": items[start:end], "pageInfo": info}
    if isinstance(node.get("refunds"), list):
        node["refunds"] = node["refunds"][: nested.get("refunds", len(node["refunds"]))]
    return node


def _nested_firsts(query: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"(\w+)\s*\(\s*first:\s*(\d+)", query)}


def _requested_cost(query: str, first: int, *, single: bool = False) -> int:
    nested = [int(n) for n in _FIRST.findall(query)]
    per_node = 1 + sum(2 + n for n in nested)
    listed = per_node if single else 2 + first * per_node
    return listed + (1 if re.search(r"\bshop\s*\{", query) else 0)


def _throttle_status(shop: Store) -> dict:
    bucket = shop.state["bucket"]
    return {
        "maximumAvailable": bucket["maximum"],
        "currentlyAvailable": round(bucket["available"]),
        "restoreRate": bucket["rate"],
    }


def _refill(shop: Store) -> None:
    bucket, now = shop.state["bucket"], shop.now()
    bucket["available"] = min(
        bucket["maximum"], bucket["available"] + (now - bucket["at"]) * bucket["rate"]
    )
    bucket["at"] = now


def _graphql(shop: Store, request: Request):
    if not _token_valid(shop, request.headers.get("x-shopify-access-token", "")):
        return 401, {}, {"errors": REFUSED}
    try:
        body = request.json()
        query, variables = body["query"], body.get("variables") or {}
    except (ValueError, KeyError, TypeError):
        return 400, {}, {"errors": {"query": "Required parameter missing or invalid"}}
    root = _ROOT.search(query)
    first = int(variables.get("first") or 0) if root else 0
    single = bool(root) and root.group(1) in _SINGLE
    requested = _requested_cost(query, first, single=single)
    if requested > MAX_QUERY_COST:
        message = (
            f"Query cost is {requested}, which exceeds the single query max cost limit (1000)."
        )
        error = {"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested}}
        return 200, {}, {"errors": [error]}
    with shop.imitation.lock:
        _refill(shop)
        if shop.state["bucket"]["available"] < requested:
            cost = {"requestedQueryCost": requested, "actualQueryCost": None}
            cost["throttleStatus"] = _throttle_status(shop)
            error = {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
            return 200, {}, {"errors": [error], "extensions": {"cost": cost}}
        data = _data(shop, query, variables, root.group(1) if root else None)
        actual = _actual_cost(query, data)
        shop.state["bucket"]["available"] -= actual
        cost = {"requestedQueryCost": requested, "actualQueryCost": actual}
        cost["throttleStatus"] = _throttle_status(shop)
    return 200, {}, {"data": data, "extensions": {"cost": cost}}


def _data(shop: Store, query: str, variables: dict, root: str | None) -> dict:
    data: dict = {}
    if re.search(r"\bshop\s*\{", query):
        data["shop"] = {"name": "Trailhead Outfitters (imitation)", "currencyCode": "USD"}
    if root is None:
        return data
    nested = _nested_firsts(query.split(root, 1)[1])
    if root in _SINGLE:
        held = [r for r in shop.state[_SINGLE[root]] if r.get("id") == variables.get("id")]
        data[root] = _shaped(held[0], nested, variables.get("after")) if held else None
        return data
    on = "createdAt" if root == "events" else "updatedAt"
    first = max(1, min(int(variables.get("first") or 1), 250))
    chosen = _select(shop.state[root], variables.get("query"), variables.get("after"), on=on)
    page = chosen[:first]
    data[root] = {
        "nodes": [_shaped(r, nested) for r in page],
        "pageInfo": {
            "hasNextPage": len(chosen) > first,
            "endCursor": _cursor([page[-1][on], page[-1]["id"]]) if page else None,
        },
    }
    return data


_LISTS = ("customers", "orders", "products", "events")


def _actual_cost(query: str, data: dict) -> int:
    cost = 1 if "shop" in data else 0
    for name, found in data.items():
        if name == "shop" or not isinstance(found, dict):
            continue
        listed = name in _LISTS
        for node in found["nodes"] if listed else [found]:
            nested = node.get("lineItems") or node.get("variants") or {"nodes": []}
            cost += 1 + 2 + len(nested["nodes"]) + len(node.get("refunds") or [])
        cost += 2 if listed else 0
    return cost


def handle(imitation: Imitation, request: Request):
    shop = Store(imitation)
    if request.method != "POST":
        return 404, {}, {"errors": "Not Found"}
    if request.path.rstrip("/") == "/admin/oauth/access_token":
        return _issue(shop, request)
    if _GRAPHQL_PATH.match(request.path):
        return _graphql(shop, request)
    return 404, {}, {"errors": "Not Found"}


def start(
    *,
    customers: list[dict] | None = None,
    orders: list[dict] | None = None,
    products: list[dict] | None = None,
    admin_token: str = "",
    client_id: str = "",
    client_secret: str = "",
    maximum: float = 2000.0,
    rate: float = 100.0,
    port: int = 0,
) -> Imitation:
    """A running store. ``admin_token``: a fixed token that works; ``client_id`` and
    ``client_secret``: the app whose client-credentials tokens it issues."""
    imitation = Imitation(handler=handle)
    imitation.state.update(
        customers=list(customers or []),
        orders=list(orders or []),
        products=list(products or []),
        events=[],
        admin_token=admin_token,
        client=(client_id, client_secret) if client_id else None,
        issued={},
        clock=0.0,
    )
    imitation.state["bucket"] = {
        "maximum": maximum,
        "rate": rate,
        "available": maximum,
        "at": time.monotonic(),
    }
    return imitation.start(port)
