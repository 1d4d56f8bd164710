"""The demo company's segments: created with the demo logins, before the data arrives,
so that they fill in real time as the demo data is processed."""

from __future__ import annotations

from segments import services
from segments.models import Segment


def _rule(*children, match="all") -> dict:
    return {"version": 1, "root": {"type": "group", "match": match, "children": list(children)}}


def _did(name, *, days=None, count=None, did=True, where=None) -> dict:
    node = {"type": "event", "name": name, "did": did}
    if days:
        node["window"] = {"last_days": days}
    if count:
        node["count"] = {"op": "at_least", "value": count}
    if where:
        node["where"] = where
    return node


DEMO_SEGMENTS = [
    (
        "Cart abandoners, last 7 days",
        "Started a checkout and did not order since.",
        _rule(_did("Checkout Started", days=7), _did("Order Completed", days=7, did=False)),
    ),
    (
        "High-value customers",
        "Lifetime value over $1,000.",
        _rule({"type": "computed", "key": "order_revenue", "op": "gt", "value": 1000}),
    ),
    (
        "Lapsed customers",
        "Bought before, quiet for 60 days.",
        _rule({"type": "stage", "in": ["lapsed"]}),
    ),
    (
        "Engaged newsletter readers",
        "Clicked a newsletter link in the last 30 days and may be e-mailed.",
        _rule(
            _did("Email Link Clicked", days=30), {"type": "consent", "purpose": "email_marketing"}
        ),
    ),
    (
        "Considering jackets",
        "Viewed jackets at least twice in 14 days, no order yet.",
        _rule(
            _did(
                "Product Viewed",
                days=14,
                count=2,
                where=[{"property": "category", "op": "equals", "value": "Jackets"}],
            ),
            _did("Order Completed", days=14, did=False),
        ),
    ),
    (
        "Loyalty card holders",
        "Known by a store loyalty card.",
        _rule({"type": "identifier", "kind": "loyalty_card"}),
    ),
    (
        "Known to our partner",
        "Has data from a second-party source.",
        _rule({"type": "party", "party": "second"}),
    ),
]


def ensure_demo_segments() -> list[Segment]:
    """Creates the demo segments that do not exist yet (found by name)."""
    created = []
    for name, description, rule in DEMO_SEGMENTS:
        if not Segment.objects.filter(name=name).exists():
            created.append(services.create_segment(name=name, description=description, rule=rule))
    return created
