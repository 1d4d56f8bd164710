"""Shopify nodes → the records the streams' mappings read. Pure functions.

Each shaper raises ValueError with the reason when a node cannot be used; the read rejects
that node and keeps the others.

- a customer becomes one record for an identify call: the numeric id from its gid, e-mail,
  names, phone, ``emailOptIn`` (the consent trait of the e-mail marketing purpose: true
  when SUBSCRIBED, false when UNSUBSCRIBED; other states say nothing, so they never
  withdraw a consent given elsewhere), tags, number of orders and amount spent;
- an order becomes one record per message, each with its own ``key`` and ``timestamp``:
  ``Order Completed`` (key: the order id alone, so it is stored once however often the
  order changes; revenue, currency, products), ``Order Updated`` when an order that an
  earlier pass already read has changed since (key: order id and updatedAt; ``total``,
  never ``revenue``, so revenue is counted once), ``Order Cancelled`` and one
  ``Order Refunded`` per refund (the refunded amount as ``total``). Test orders are
  skipped: they are no revenue;
- a product becomes one catalogue row per variant.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from ...records import parse_time

_GID = re.compile(r"^gid://shopify/(\w+)/(\d+)$")
OPT_IN = {"SUBSCRIBED": True, "UNSUBSCRIBED": False}


def numeric_id(value, kind: str) -> str:
    """``gid://shopify/Customer/123`` → ``"123"``."""
    match = _GID.match(value) if isinstance(value, str) else None
    if not match or match.group(1) != kind:
        raise ValueError(f"{kind} id {str(value)[:80]!r} is not a Shopify {kind} gid.")
    return match.group(2)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def amount(value, what: str) -> tuple[float, str | None]:
    """A MoneyBag (``{"shopMoney": {"amount": "12.50", "currencyCode": "USD"}}``) or a
    MoneyV2 → (amount, currency)."""
    money = _dict(value)
    money = _dict(money.get("shopMoney")) or money
    try:
        number = float(Decimal(str(money.get("amount"))))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what}: the amount is missing or not a number.") from None
    if not math.isfinite(number):
        raise ValueError(f"{what}: the amount is not a number.")
    return number, _text(money.get("currencyCode"))


def time_of(value, what: str) -> str:
    if parse_time(value) is None:
        raise ValueError(f"{what}: {str(value)[:40]!r} is not a time.")
    return value


def customer(node) -> dict:
    if not isinstance(node, dict):
        raise ValueError("The customer is not a JSON object.")
    email = _dict(node.get("defaultEmailAddress"))
    spent = _dict(node.get("amountSpent"))
    record = {
        "id": numeric_id(node.get("id"), "Customer"),
        "email": _text(email.get("emailAddress")),
        "firstName": _text(node.get("firstName")),
        "lastName": _text(node.get("lastName")),
        "phone": _text(_dict(node.get("defaultPhoneNumber")).get("phoneNumber")),
        "emailOptIn": OPT_IN.get(email.get("marketingState")),
        "tags": [t for t in node.get("tags") or [] if isinstance(t, str)],
        "createdAt": node.get("createdAt"),
        "updatedAt": time_of(node.get("updatedAt"), "updatedAt"),
    }
    if str(node.get("numberOfOrders") or "0").isdigit():  # UnsignedInt64: a string
        record["numberOfOrders"] = int(node.get("numberOfOrders") or 0)
    if spent:
        record["amountSpent"], record["currency"] = amount(spent, "amountSpent")
    return record


def _line_items(node: dict) -> list[dict]:
    items = []
    for item in _dict(node.get("lineItems")).get("nodes") or []:
        item = _dict(item)
        product = _dict(item.get("product"))
        entry = {
            "product_id": _gid_number(product.get("id")),
            "variant_id": _gid_number(_dict(item.get("variant")).get("id")),
            "sku": _text(item.get("sku")),
            "name": _text(item.get("name")),
            "category": _text(product.get("productType")),
            "quantity": item.get("quantity") if isinstance(item.get("quantity"), int) else None,
        }
        if item.get("originalUnitPriceSet"):
            entry["price"] = amount(item["originalUnitPriceSet"], "line item price")[0]
        items.append({k: v for k, v in entry.items() if v is not None})
    return items


def _gid_number(value) -> str | None:
    match = _GID.match(value) if isinstance(value, str) else None
    return match.group(2) if match else None


def _who(node: dict, order_id: str) -> dict:
    """The buyer: the customer's id, or (a guest checkout) an id of the order's own, with
    its e-mail for identity resolution to link."""
    buyer = _dict(node.get("customer")).get("id")
    who = {"userId": numeric_id(buyer, "Customer")} if buyer else {}
    if not who:
        who["anonymousId"] = f"shopify-order-{order_id}"
    if _text(node.get("email")):
        who["traits"] = {"email": node["email"]}
    return who


def order(node, *, since: str | None) -> list[dict]:
    """The order's messages. ``since``: the lower bound of this pass (None on a first or
    full read); an order created by then was read by an earlier pass."""
    if not isinstance(node, dict):
        raise ValueError("The order is not a JSON object.")
    order_id = numeric_id(node.get("id"), "Order")
    if node.get("test") is True:
        return []
    revenue, currency = amount(node.get("totalPriceSet"), "totalPriceSet")
    created = time_of(node.get("createdAt"), "createdAt")
    updated = time_of(node.get("updatedAt"), "updatedAt")
    common = {
        "order_id": order_id,
        "name": _text(node.get("name")),
        "currency": currency,
        "financial_status": _text(node.get("displayFinancialStatus")),
        **_who(node, order_id),
    }
    products = _line_items(node)
    placed = node.get("processedAt") or created
    records = [
        {
            **common,
            "key": f"completed:{order_id}",
            "event": "Order Completed",
            "timestamp": time_of(placed, "processedAt"),
            "revenue": revenue,
            "products": products,
        }
    ]
    # Created at or before the bound: an earlier pass read it (the same second is taken
    # as read; at worst an Order Updated too many, which carries no revenue).
    seen_before = since is not None and parse_time(created) <= parse_time(since)
    if seen_before and parse_time(updated) > parse_time(since):
        current = node.get("currentTotalPriceSet") or node.get("totalPriceSet")
        records.append(
            {
                **common,
                "key": f"updated:{order_id}:{updated}",
                "event": "Order Updated",
                "timestamp": updated,
                "total": amount(current, "currentTotalPriceSet")[0],
                "products": products,
            }
        )
    if node.get("cancelledAt"):
        when = time_of(node["cancelledAt"], "cancelledAt")
        records.append(
            {
                **common,
                "key": f"cancelled:{order_id}",
                "event": "Order Cancelled",
                "timestamp": when,
                "total": revenue,
            }
        )
    return records + [_refund(common, refund) for refund in node.get("refunds") or []]


def _refund(common: dict, refund) -> dict:
    refund = _dict(refund)
    refunded, currency = amount(refund.get("totalRefundedSet"), "refund totalRefundedSet")
    return {
        **common,
        "key": "refunded:" + numeric_id(refund.get("id"), "Refund"),
        "event": "Order Refunded",
        "timestamp": time_of(refund.get("createdAt"), "refund createdAt"),
        "total": refunded,
        "currency": currency or common["currency"],
    }


def product(node, *, currency: str | None) -> list[dict]:
    """One catalogue row per variant (the read has followed the variants' pages)."""
    if not isinstance(node, dict):
        raise ValueError("The product is not a JSON object.")
    product_id = numeric_id(node.get("id"), "Product")
    title = _text(node.get("title"))
    if title is None:
        raise ValueError(f"Product {product_id} has no title.")
    variants = _dict(node.get("variants"))
    image = _dict(_dict(_dict(node.get("featuredMedia")).get("preview")).get("image"))
    rows = []
    for variant in variants.get("nodes") or []:
        variant = _dict(variant)
        label = _text(variant.get("title"))
        rows.append(
            {
                "external_id": numeric_id(variant.get("id"), "ProductVariant"),
                "product_id": product_id,
                "sku": _text(variant.get("sku")) or "",
                "name": title if label in (None, "Default Title") else f"{title} – {label}",
                "category": _text(node.get("productType")) or "",
                "price": variant.get("price"),
                "currency": currency or "",
                "image_url": _text(image.get("url")) or "",
                "url": _text(node.get("onlineStoreUrl")) or "",
                "in_stock": variant.get("availableForSale") is not False,
                "active": node.get("status") in (None, "ACTIVE"),
                "updated_at": time_of(node.get("updatedAt"), "updatedAt"),
            }
        )
    return rows
