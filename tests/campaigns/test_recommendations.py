"""Recommendations on a small known dataset: co-occurrence, favourite category, viewed but
not bought; never what was bought, is out of stock, inactive or deleted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import CategoryTop, ItemNeighbour
from campaigns.recommendations import selectors, services
from cdp_site.models import QueuedTask
from integrations import services as integration_services
from integrations.catalog.services import mark_products_deleted, upsert_products
from profiles.models import Identity
from tests.profiles.conftest import backend, message, send  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
# sku -> (category, in stock, active)
CATALOGUE = {
    "A": ("Tents", True, True),
    "B": ("Tents", True, True),
    "C": ("Tents", True, True),
    "D": ("Boots", True, True),
    "E": ("Boots", True, True),
    "F": ("Tents", False, True),  # out of stock
    "G": ("Tents", True, False),  # inactive
}
# person -> their orders (lists of SKUs), oldest first
ORDERS = {
    "ann": [["A", "B"], ["C"]],
    "bob": [["A", "B", "F"]],
    "cat": [["A", "C"]],
    "dan": [["B", "D"]],
    "eve": [["A"]],
}


def products_of(skus):
    return [{"sku": s, "product_id": s, "name": f"Item {s}", "price": 10} for s in skus]


def order(user, skus, minutes):
    at = (NOW - timedelta(days=2) + timedelta(minutes=minutes)).isoformat()
    properties = {"order_id": f"{user}-{minutes}", "products": products_of(skus)}
    return message(userId=user, event="Order Completed", properties=properties, timestamp=at)


def viewed(user, sku, minutes):
    at = (NOW - timedelta(days=1) + timedelta(minutes=minutes)).isoformat()
    properties = {"sku": sku, "name": f"Item {sku}"}
    return message(userId=user, event="Product Viewed", properties=properties, timestamp=at)


def catalogue():
    shop = integration_services.create_source(name="Shop", kind="server")
    rows = [
        {"external_id": sku, "product_id": sku, "sku": sku, "name": f"Item {sku}",
         "category": category,
         "price": "10.00", "in_stock": stock, "active": active}
        for sku, (category, stock, active) in CATALOGUE.items()
    ]  # fmt: skip
    result = upsert_products(source_id=shop.id, rows=rows)
    assert not result.rejections
    return shop


def person(user):
    return Identity.objects.get(kind__name="user_id", value=user).profile_id


def skus(profile_id, kind):
    found = selectors.recommendations_for(profile_id=profile_id, kind=kind, limit=10)
    return [p["sku"] for p in found]


@pytest.fixture
def shop(backend, send):  # noqa: F811
    source = catalogue()
    messages = []
    for user, orders in ORDERS.items():
        messages += [order(user, skus, minutes=i) for i, skus in enumerate(orders)]
    # eve viewed E (Boots), A (bought), F (out of stock) and G (inactive); E last.
    messages += [viewed("eve", s, minutes=i) for i, s in enumerate(["A", "F", "G", "E"])]
    send(backend, *messages)
    services.recompute_all(now=NOW)
    return source


def test_neighbours_are_cosine_similar_items_of_the_same_orders(shop):
    # Orders of two or more products: ann's {A,B}, bob's {A,B,F}, cat's {A,C}, dan's {B,D};
    # A is in 3, B in 3, C, D and F in 1. F is out of stock: nobody's neighbour.
    found = {
        (n.sku, n.neighbour): (n.together, round(n.score, 3)) for n in ItemNeighbour.objects.all()
    }
    assert found == {
        ("A", "B"): (2, 0.667),
        ("A", "C"): (1, 0.577),
        ("B", "A"): (2, 0.667),
        ("B", "D"): (1, 0.577),
        ("C", "A"): (1, 0.577),
        ("D", "B"): (1, 0.577),
        ("F", "A"): (1, 0.577),
        ("F", "B"): (1, 0.577),
    }


def test_bought_together_sums_the_neighbours_of_what_they_bought(shop):
    assert skus(person("eve"), "bought_together") == ["B", "C"]
    assert skus(person("cat"), "bought_together") == ["B"]
    assert skus(person("dan"), "bought_together") == ["A"]
    assert skus(person("ann"), "bought_together") == ["D"]


def test_what_they_bought_and_what_is_out_of_stock_are_never_recommended(shop):
    # bob bought A, B and F: their neighbours C and D are left, F is out of stock anyway.
    for kind in selectors.KINDS:
        assert not {"A", "B", "F"} & set(skus(person("bob"), kind))
    assert skus(person("bob"), "bought_together") == ["C", "D"]
    every = [skus(person(u), k) for u in ORDERS for k in selectors.KINDS]
    assert not {"F", "G"} & {sku for found in every for sku in found}


def test_popular_in_the_favourite_category_ranks_by_buyers(shop):
    tents = list(CategoryTop.objects.filter(category="Tents").order_by("rank"))
    assert [(t.sku, t.buyers) for t in tents] == [("A", 4), ("B", 3), ("C", 2)]
    # eve bought a tent and viewed boots once: tents are her favourite.
    assert skus(person("eve"), "popular_in_category") == ["B", "C"]
    stored = selectors.list_info(profile_id=person("eve"))["popular_in_category"]
    assert stored.category == "Tents"


def test_viewed_but_not_bought_keeps_what_is_offered_latest_first(shop):
    assert skus(person("eve"), "viewed_not_bought") == ["E"]
    assert skus(person("ann"), "viewed_not_bought") == []


def test_a_product_out_of_stock_or_deleted_after_the_run_is_left_out_when_read(shop):
    upsert_products(
        source_id=shop.id,
        rows=[{"external_id": "B", "sku": "B", "name": "Item B", "category": "Tents",
               "in_stock": False}],
    )  # fmt: skip
    assert skus(person("eve"), "bought_together") == ["C"]
    mark_products_deleted(source_id=shop.id, deletions=[("C", NOW)])
    assert skus(person("eve"), "bought_together") == []


def test_every_kind_merged_gives_each_product_once(shop):
    merged = selectors.recommendations_for(profile_id=person("eve"), limit=10)
    # Turns: the first of each kind (B twice: once), then the second of each.
    assert [(p["sku"], p["kind"]) for p in merged] == [
        ("B", "bought_together"),
        ("E", "viewed_not_bought"),
        ("C", "bought_together"),
    ]
    assert len(selectors.recommendations_for(profile_id=person("eve"), limit=2)) == 2


def test_an_unknown_kind_is_refused():
    with pytest.raises(selectors.UnknownKind, match="kind: choose one of"):
        selectors.recommendations_for(profile_id=1, kind="cheapest")


def test_a_new_order_recomputes_only_that_person_and_drops_what_they_bought(shop, send):  # noqa: F811
    cat_before = skus(person("cat"), "bought_together")
    send(backend_of(shop), order("eve", ["B"], minutes=100))
    services.recompute_for(profile_ids=[person("eve")], now=NOW)
    assert skus(person("eve"), "bought_together") == ["C", "D"]
    assert skus(person("cat"), "bought_together") == cat_before


def backend_of(shop):
    return integration_services.create_source(name="Orders later", kind="server")


def test_orders_and_merges_queue_a_recomputation_of_those_people_only(db):
    services.on_profile_changes(
        changes=[
            (1, ["events"], {"event_names": ["Order Completed", "track"]}),
            (2, ["events"], {"event_names": ["Page Viewed"]}),
            (3, ["merged", "identities"], {"merged": [4]}),
            (5, ["traits"], {}),
        ]
    )
    queued = QueuedTask.objects.get(task="campaigns.tasks.recompute_recommendations_for")
    assert queued.args == [[1, 3]]


def test_a_run_again_writes_the_same_lists(shop):
    before = selectors.recommendations_by_kind(profile_id=person("eve"), limit=10)
    services.recompute_all(now=NOW)
    assert selectors.recommendations_by_kind(profile_id=person("eve"), limit=10) == before
