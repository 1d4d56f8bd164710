"""``recommendations`` in message templates (campaigns/templating.py)::

    {% for p in recommendations %}{{ p.name }} {{ p.price }} {{ p.url }}{% endfor %}
    {% for p in recommendations.bought_together %}…{% endfor %}
    {% for p in recommendations.popular_in_category %}…{% endfor %}
    {{ recommendations.category }}          their favourite category
    {% for p in recommendations.viewed_not_bought %}…{% endfor %}
    {% if recommendations %}…{% else %}…{% endif %}

The loop over ``recommendations`` itself gives every kind merged (selectors.merged), at
most LIMIT products; each kind at most LIMIT too. Products are read-only mappings of
their fields (selectors.py), as all template data is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

from . import selectors

LIMIT = 6
NAME = "recommendations"


class Recommendations(tuple):
    """The merged list (iterate it) with each kind's list as an attribute; frozen, as the
    rest of a template's context."""

    def __new__(cls, merged, by_kind: dict, category: str = ""):
        made = super().__new__(cls, merged)
        for kind in selectors.KINDS:
            object.__setattr__(made, kind, tuple(by_kind.get(kind, ())))
        object.__setattr__(made, "category", category)
        return made

    def __setattr__(self, name, value):
        raise AttributeError("recommendations are read-only")


def _frozen(product: dict) -> MappingProxyType:
    return MappingProxyType(dict(product))


# Read ahead by a delivery batch (campaigns/delivery.py): while a batch's "sending" mark
# is in flight on the connection, a template must read nothing from the database.
_PRELOADED: ContextVar[dict | None] = ContextVar("recommendations_preloaded", default=None)


@contextmanager
def preloaded(profile_ids: Iterable[int]) -> Iterator[None]:
    """Within it, ``for_profile`` of these people answers from what was read on entry."""
    token = _PRELOADED.set({pid: _read(pid) for pid in set(profile_ids)})
    try:
        yield
    finally:
        _PRELOADED.reset(token)


def for_profile(profile_id: int | None) -> Recommendations:
    """The person's recommendations as a template sees them (empty without a person)."""
    if profile_id is None:
        return Recommendations((), {})
    ahead = _PRELOADED.get()
    if ahead is not None and profile_id in ahead:
        return ahead[profile_id]
    return _read(profile_id)


def _read(profile_id: int) -> Recommendations:
    lists = selectors.list_info(profile_id=profile_id)
    by_kind = selectors.products_by_kind(lists, limit=LIMIT)
    frozen = {kind: [_frozen(p) for p in products] for kind, products in by_kind.items()}
    merged = [_frozen(p) for p in selectors.merged(by_kind, limit=LIMIT)]
    favourite = lists.get("popular_in_category")
    return Recommendations(merged, frozen, favourite.category if favourite else "")


def uses_recommendations(*sources: str) -> bool:
    """Whether a template names them (the others are rendered without reading them)."""
    return any(NAME in (source or "") for source in sources)
