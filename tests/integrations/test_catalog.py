"""The product catalogue's upsert: newer versions win, bad rows are rejected alone."""

from datetime import UTC, datetime

import pytest

from integrations import services as integration_services
from integrations.catalog.models import Product
from integrations.catalog.services import upsert_products

pytestmark = pytest.mark.django_db


@pytest.fixture
def source():
    return integration_services.create_source(name="Shop", kind="server")


def row(key: str, *, updated: str = "2026-03-01T10:00:00Z", **extra) -> dict:
    return {"external_id": key, "name": f"Item {key}", "sku": f"SKU-{key}", "price": "10.00",
            "updated_at": updated, **extra}  # fmt: skip


def test_an_older_version_never_overwrites_a_newer_one(source):
    upsert_products(source_id=source.id, rows=[row("1", updated="2026-04-01T00:00:00Z")])
    late = upsert_products(source_id=source.id, rows=[row("1", name="Stale name")])
    assert (late.stored, late.unchanged) == (0, 1)
    assert Product.objects.get().name == "Item 1"
    newer = upsert_products(
        source_id=source.id, rows=[row("1", name="New name", updated="2026-05-01T00:00:00Z")]
    )
    assert newer.stored == 1
    product = Product.objects.get()
    assert product.name == "New name" and product.updated_at == datetime(2026, 5, 1, tzinfo=UTC)


def test_two_versions_in_one_batch_keep_the_newer(source):
    result = upsert_products(
        source_id=source.id,
        rows=[
            row("1", price="12.00", updated="2026-04-02T00:00:00Z"),
            row("1", price="11.00", updated="2026-04-01T00:00:00Z"),
        ],
    )
    assert result.stored == 1 and str(Product.objects.get().price) == "12.00"


def test_bad_rows_are_rejected_with_their_reason_and_the_rest_stored(source):
    result = upsert_products(
        source_id=source.id,
        rows=[
            row("1"),
            row("2", name=""),
            row("3", price="twelve"),
            row("4", updated="yesterday"),
            "not a row",
            row("5", image_url="javascript:alert(1)", price=None),
        ],
    )
    assert [r.reason for r in result.rejections] == [
        "name: required.",
        "price: 'twelve' is not a number.",
        "updated_at: 'yesterday' is not an ISO 8601 time.",
        "The product is not a JSON object.",
    ]
    assert sorted(Product.objects.values_list("external_id", flat=True)) == ["1", "5"]
    fifth = Product.objects.get(external_id="5")
    assert fifth.image_url == "" and fifth.price is None  # the link is left out, not the product


def test_a_deleted_product_comes_back_only_with_a_version_changed_after_its_deletion(source):
    from integrations.catalog.selectors import products
    from integrations.catalog.services import mark_products_deleted

    upsert_products(source_id=source.id, rows=[row("1", product_id="P1"), row("2")])
    deleted = datetime(2026, 4, 1, tzinfo=UTC)
    assert mark_products_deleted(source_id=source.id, deletions=[("P1", deleted)]) == 1
    assert list(
        products(source_id=source.id, offered=True).values_list("external_id", flat=True)
    ) == ["2"]
    # A page read before the deletion and stored after it: the row stays deleted.
    upsert_products(
        source_id=source.id, rows=[row("1", product_id="P1", updated="2026-03-15T00:00:00Z")]
    )
    assert Product.objects.get(external_id="1").deleted_at == deleted
    upsert_products(
        source_id=source.id, rows=[row("1", product_id="P1", updated="2026-04-02T00:00:00Z")]
    )
    back = Product.objects.get(external_id="1")
    assert back.deleted_at is None and back.in_stock is True
