"""The demo company's webshop platform (a Shopify store imitation, demo data only, on
loopback), read by a connection on a schedule like the CRM (pull_services.py).

The store holds the demo's online shoppers (``people.make_person``) as customers with
their true addresses, a few orders each from the demo catalogue, and the catalogue's
products, which fill the product catalogue table. ``tick`` places a new order every
minute, so each run brings a fresh "Order Completed" (fresh, not history: it may start a
journey).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from integrations.connectors.models import Connection

from . import catalog
from .imitations import shopify
from .people import make_person
from .pull_services import DemoConnection, ensure_connection

# A demo service's token, not a secret of anything real.
DEMO_TOKEN = "shpat_demo_store_token"  # noqa: S105
SHOP_NAME = "Trailhead · Shop sync (demo Shopify imitation)"
SHOPPERS = 300
SHOPIFY_ID = "shopify_customer_id"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _customer(n: int, person, *, updated: datetime) -> dict:
    return shopify.customer(
        n,
        updated=_iso(updated),
        firstName=person.first_name,
        lastName=person.last_name,
        defaultEmailAddress={
            "emailAddress": person.email,
            "marketingState": "SUBSCRIBED" if person.subscribed else "NOT_SUBSCRIBED",
        },
        defaultPhoneNumber=None,
        numberOfOrders="0",
    )


def _order(number: int, customer_n: int, email: str, rng: random.Random, *, at: datetime) -> dict:
    sku, _, category, price = rng.choice(catalog.PRODUCTS)
    placed = shopify.order(number, customer_n=customer_n, total=price, created=_iso(at))
    placed["email"] = email
    placed["lineItems"][0].update(name=sku, sku=sku)
    placed["lineItems"][0]["product"]["productType"] = category
    return placed


def _products() -> list[dict]:
    found = []
    for n, (sku, name, category, price) in enumerate(catalog.PRODUCTS):
        product = shopify.product(n, updated="2026-01-02T08:00:00Z", variants=1)
        product.update(title=name, productType=category)
        product["variants"][0].update(sku=sku, price=f"{price:.2f}", availableForSale=True)
        found.append(product)
    return found


def fill_shop(imitation, *, seed: int, customers: int, now: datetime) -> int:
    """Puts the demo's first online shoppers, their orders and the catalogue into the
    store; returns how many customers."""
    shop, rng, count = shopify.store(imitation), random.Random(f"shop:{seed}"), 0
    for index in range(min(customers, SHOPPERS * 3)):
        person, _ = make_person(seed=seed, index=index)
        if person.kind not in ("online", "omni") or count >= SHOPPERS:
            continue
        count += 1
        joined = now - timedelta(days=rng.randint(30, 360))
        shop.put("customers", _customer(index, person, updated=joined))
        for _ in range(rng.randint(0, 3)):
            at = joined + timedelta(days=rng.randint(0, 29), hours=rng.randint(0, 23))
            number = len(imitation.state["orders"]) + 1
            shop.put("orders", _order(number, index, person.email, rng, at=at))
    for product in _products():
        shop.put("products", product)
    return count


def tick(imitation, *, rng: random.Random, now: datetime) -> int:
    """One customer places an order now; returns 1 (0 for an empty store)."""
    with imitation.lock:
        customers = list(imitation.state["customers"])
        number = len(imitation.state["orders"]) + 1
    if not customers:
        return 0
    buyer = rng.choice(customers)
    customer_n = int(buyer["id"].rsplit("/", 1)[1]) - 7000
    email = buyer["defaultEmailAddress"]["emailAddress"]
    shopify.store(imitation).put("orders", _order(number, customer_n, email, rng, at=now))
    return 1


# Shopify's customer ids are the store's own, not the website's user ids.
SHOP = DemoConnection(SHOP_NAME, "shopify", DEMO_TOKEN, 80, SHOPIFY_ID, "Shopify customer id")


def ensure_shop_connection(*, url: str) -> Connection:
    return ensure_connection(SHOP, url=url)


def start_shop(*, seed: int, customers: int, port: int = 0):
    imitation = shopify.start(admin_token=DEMO_TOKEN, port=port)
    fill_shop(imitation, seed=seed, customers=customers, now=datetime.now(UTC))
    return imitation
