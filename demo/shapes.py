"""What a story is made of: items on a channel, ISO times, product properties."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import catalog

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WINDOW = 365 * DAY  # a year: the weekly rhythm and the year-end peak both show


@dataclass(frozen=True, slots=True)
class Item:
    channel: str  # a demo source key (see sources.py)
    at: datetime
    data: dict  # a Segment message, or a CSV row for the file channels


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def product_props(sku: str, name: str, category: str, price: float, *, quantity: int = 1) -> dict:
    return {
        "product_id": sku,
        "sku": sku,
        "name": name,
        "category": category,
        "price": price,
        "quantity": quantity,
        "url": f"{catalog.WEB_HOST}/p/{sku.lower()}",
    }
