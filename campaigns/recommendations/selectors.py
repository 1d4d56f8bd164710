"""Reads of recommendations. Others may use every function here: the personalisation
API, message templates (context.py), the profile page's panel, the REST API.

``recommendations_for(profile_id=..., kind=..., limit=...)`` answers plain dicts::

    {"id": 12, "sku": "TH-1001", "name": "Ridge 2 Tent", "category": "Tents",
     "price": "349.00", "currency": "USD", "image_url": "https://…", "url": "https://…",
     "kind": "bought_together"}

best first, only products still offered (active, in stock, not deleted: a product that
went out of stock since the lists were computed is left out when read) and never one
the person bought before the last computation.
"""

from __future__ import annotations

from integrations.catalog import selectors as catalog
from profiles import selectors as profile_selectors

from . import compute
from .models import Recommendation

KINDS = tuple(Recommendation.Kind.values)
DEFAULT_LIMIT = 5
MAX_LIMIT = compute.LIST_SIZE


class UnknownKind(ValueError):
    pass


def _product(product, kind: str) -> dict:
    return {
        "id": product.pk,
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "price": None if product.price is None else str(product.price),
        "currency": product.currency,
        "image_url": product.image_url,
        "url": product.url,
        "kind": kind,
    }


def _lists(profile_id: int, kinds) -> dict[str, Recommendation]:
    active = profile_selectors.active_profile_id(profile_id=profile_id)
    if active is None:
        return {}
    found = Recommendation.objects.filter(profile_id=active, kind__in=kinds)
    return {row.kind: row for row in found}


def _offered(ids: set[int]) -> dict:
    return {p.pk: p for p in catalog.products(offered=True).filter(pk__in=ids)}


def recommendations_by_kind(*, profile_id: int, limit: int = DEFAULT_LIMIT) -> dict[str, list]:
    """Every kind's products for a person (a merged-away profile reads its survivor's):
    {kind: [product dict, ...]}, each list at most ``limit`` long."""
    return products_by_kind(list_info(profile_id=profile_id), limit=limit)


def products_by_kind(lists: dict[str, Recommendation], *, limit: int) -> dict[str, list]:
    """The products of stored lists (``list_info``) still offered, by kind; one query."""
    limit = max(0, min(int(limit), MAX_LIMIT))
    offered = _offered({pid for row in lists.values() for pid in row.product_ids})
    answer = {}
    for kind in KINDS:
        row = lists.get(kind)
        products = [offered[pid] for pid in (row.product_ids if row else []) if pid in offered]
        answer[kind] = [_product(p, kind) for p in products[:limit]]
    return answer


def recommendations_for(
    *, profile_id: int, kind: str | None = None, limit: int = DEFAULT_LIMIT
) -> list[dict]:
    """A person's recommended products of one ``kind`` (Recommendation.Kind), or of every
    kind merged (``kind=None``: the kinds' lists taken in turns, each product once), best
    first, at most ``limit`` (<= MAX_LIMIT).
    UnknownKind for a kind that does not exist."""
    if kind is not None and kind not in KINDS:
        raise UnknownKind(f"kind: choose one of {', '.join(KINDS)}.")
    by_kind = recommendations_by_kind(profile_id=profile_id, limit=MAX_LIMIT)
    return merged(by_kind, kinds=[kind] if kind else KINDS, limit=limit)


def merged(by_kind: dict[str, list], *, kinds=KINDS, limit: int = DEFAULT_LIMIT) -> list[dict]:
    """The lists of ``kinds`` taken in turns (the best of each, then the second of each...),
    each product once, at most ``limit``: no kind crowds out the others (measured in
    bench/bench_recommendations.py, turns hit more often than one kind after another)."""
    seen, answer = set(), []
    lists = [by_kind.get(kind, []) for kind in kinds]
    for rank in range(max((len(found) for found in lists), default=0)):
        for found in lists:
            if rank < len(found) and found[rank]["id"] not in seen:
                seen.add(found[rank]["id"])
                answer.append(found[rank])
    return answer[: max(0, min(int(limit), MAX_LIMIT))]


def list_info(*, profile_id: int) -> dict[str, Recommendation]:
    """The stored lists of a person by kind (when computed, the favourite category)."""
    return _lists(profile_id, KINDS)
