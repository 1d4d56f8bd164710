"""The products stream's own ``store`` (see base.Stream): its records are catalogue rows,
not messages.

A page holds two kinds of record: a variant's row (shapes.product), upserted into the
catalogue (a row no newer than the stored one counts as a duplicate), and a deletion
(``{"deleted": true, "product_id", "deleted_at"}``, from the shop's product deletion
events), which marks every row of that product deleted and out of stock.
"""

from __future__ import annotations

from integrations.catalog.services import mark_products_deleted, upsert_products
from integrations.services import record_rejections

from ...base import Stored
from ...records import parse_time


def deletion(product_id: str, deleted_at: str) -> dict:
    return {"deleted": True, "product_id": product_id, "deleted_at": deleted_at}


def store_products(*, connection, stream, page, reader, now) -> Stored:
    rows = [r for r in page.records if not (isinstance(r, dict) and r.get("deleted") is True)]
    deleted = [
        (r["product_id"], parse_time(r["deleted_at"]))
        for r in page.records
        if isinstance(r, dict) and r.get("deleted") is True
    ]
    result = upsert_products(source_id=connection.source_id, rows=rows, now=now)
    record_rejections(source_id=connection.source_id, rejections=result.rejections, received_at=now)
    marked = mark_products_deleted(source_id=connection.source_id, deletions=deleted)
    return Stored(
        stored=result.stored + marked,
        duplicates=result.unchanged + len(deleted) - marked,
        rejections=result.rejections,
    )
