"""Reads of the product catalogue. Others may use all of them (templates,
recommendations, the catalogue page)."""

from .models import Product


def products(*, source_id: int | None = None, offered: bool = False):
    """The catalogue (one source's, or every source's); ``offered``: active, in stock and
    not deleted at the source."""
    found = Product.objects.all()
    if source_id is not None:
        found = found.filter(source_id=source_id)
    if offered:
        found = found.filter(active=True, in_stock=True, deleted_at__isnull=True)
    return found


def product_by_sku(sku: str, *, source_id: int | None = None) -> Product | None:
    """The most recently changed product with this SKU (SKUs may repeat across sources)."""
    found = products(source_id=source_id).filter(sku=sku)
    return found.order_by("-updated_at", "-id").first()
