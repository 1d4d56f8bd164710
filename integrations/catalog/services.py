"""Writes of the product catalogue. Others may use: ``upsert_products`` and
``mark_products_deleted``.

A row is a plain dict as a connector (or a file import) shapes it::

    {"external_id": "44012", "product_id": "8123", "sku": "TH-1001", "name": "Ridge 2 Tent",
     "category": "Tents", "price": "349.00", "currency": "USD", "image_url": "https://…",
     "url": "https://…", "in_stock": true, "active": true, "updated_at": "2026-03-01T10:00:00Z"}

Only ``external_id`` and ``name`` are required. A row that cannot be stored is rejected
with its reason and the rest are kept; a link that is not http(s) is left out rather than
losing the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone

from integrations.collect.messages import Rejection

from .models import Product

CODE = "catalog_record"
MAX_PRICE = Decimal("999999999999.99")

UPSERT = """
INSERT INTO integrations_product (source_id, external_id, product_id, sku, name, category,
                                  price, currency, image_url, url, in_stock, active,
                                  updated_at, stored_at)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                     %s::numeric[], %s::text[], %s::text[], %s::text[], %s::boolean[],
                     %s::boolean[], %s::timestamptz[], %s::timestamptz[])
ON CONFLICT (source_id, external_id) DO UPDATE SET
    product_id = excluded.product_id, sku = excluded.sku, name = excluded.name,
    category = excluded.category, price = excluded.price, currency = excluded.currency,
    image_url = excluded.image_url, url = excluded.url, in_stock = excluded.in_stock,
    active = excluded.active, updated_at = excluded.updated_at, stored_at = excluded.stored_at,
    -- A deleted product stays deleted unless this version was changed after the deletion
    -- (a page read before the deletion and stored after it must not bring it back).
    deleted_at = CASE WHEN excluded.updated_at > integrations_product.deleted_at THEN NULL
                      ELSE integrations_product.deleted_at END
-- An older version (a page read again, a slow retry) never overwrites a newer one.
WHERE integrations_product.updated_at IS NULL OR excluded.updated_at IS NULL
   OR excluded.updated_at >= integrations_product.updated_at
"""
COLUMNS = (
    "external_id", "product_id", "sku", "name", "category", "price", "currency", "image_url",
    "url", "in_stock", "active", "updated_at",
)  # fmt: skip


@dataclass(frozen=True)
class CatalogResult:
    stored: int  # rows inserted or updated
    unchanged: int  # valid rows older than what is stored
    rejections: list[Rejection]


def _text(row: dict, name: str, limit: int, *, required: bool = False) -> str:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise ValueError(f"{name}: required.")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name}: expected text, got {type(value).__name__}.")
    value = str(value).strip().replace("\x00", "")
    if required and not value:
        raise ValueError(f"{name}: required.")
    if len(value) > limit:
        raise ValueError(f"{name}: longer than {limit} characters.")
    return value


def _price(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("price: expected a number.")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"price: {str(value)[:40]!r} is not a number.") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise ValueError(f"price: {str(value)[:40]!r} is out of range.")
    return price.quantize(Decimal("0.01"))


def _time(value) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"updated_at: {str(value)[:40]!r} is not an ISO 8601 time.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _link(value) -> str:
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 1000:
        return value
    return ""


def _flag(value, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def clean_row(row) -> dict:
    """The row as stored; ValueError with the field and the reason."""
    if not isinstance(row, dict):
        raise ValueError("The product is not a JSON object.")
    currency = _text(row, "currency", 3).upper()
    if currency and not currency.isalpha():
        raise ValueError(f"currency: {currency!r} is not a three-letter code.")
    return {
        "external_id": _text(row, "external_id", 200, required=True),
        "product_id": _text(row, "product_id", 200),
        "sku": _text(row, "sku", 200),
        "name": _text(row, "name", 500, required=True),
        "category": _text(row, "category", 255),
        "price": _price(row.get("price")),
        "currency": currency,
        "image_url": _link(row.get("image_url")),
        "url": _link(row.get("url")),
        "in_stock": _flag(row.get("in_stock"), True),
        "active": _flag(row.get("active"), True),
        "updated_at": _time(row.get("updated_at")),
    }


def _newest_per_key(rows: list[dict]) -> list[dict]:
    # One statement may not update a row twice: of two versions in one page, the newer.
    kept: dict[str, dict] = {}
    for row in rows:
        held = kept.get(row["external_id"])
        older = (
            held is not None
            and None not in (held["updated_at"], row["updated_at"])
            and row["updated_at"] < held["updated_at"]
        )
        if not older:
            kept[row["external_id"]] = row
    return list(kept.values())


@transaction.atomic
def upsert_products(*, source_id: int, rows: list, now=None) -> CatalogResult:
    """Stores each valid row as the source's product of that ``external_id`` (inserted,
    or updated when it is not older than the stored one); the others are rejected."""
    valid, rejections = [], []
    for row in rows:
        try:
            valid.append(clean_row(row))
        except ValueError as exc:
            rejections.append(Rejection(CODE, str(exc), row))
    unique = _newest_per_key(valid)
    if not unique:
        return CatalogResult(stored=0, unchanged=len(valid), rejections=rejections)
    now = now or timezone.now()
    arrays = [[source_id] * len(unique)]
    arrays += [[row[name] for row in unique] for name in COLUMNS]
    arrays.append([now] * len(unique))
    with connection.cursor() as cursor:
        cursor.execute(UPSERT, arrays)
        stored = max(cursor.rowcount, 0)
    return CatalogResult(stored=stored, unchanged=len(valid) - stored, rejections=rejections)


@transaction.atomic
def mark_products_deleted(*, source_id: int, deletions: list[tuple[str, datetime]]) -> int:
    """The source deleted these products (``(product_id, when)``): every row of each (one a
    variant) is marked deleted and out of stock, unless it changed after that. Rows are
    kept: past orders and messages still name them. Returns how many rows changed."""
    changed = 0
    for product_id, when in deletions:
        rows = Product.objects.filter(source_id=source_id, product_id=product_id)
        rows = rows.filter(deleted_at__isnull=True).exclude(updated_at__gt=when)
        changed += rows.update(deleted_at=when, in_stock=False, stored_at=timezone.now())
    return changed
