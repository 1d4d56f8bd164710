"""What identity resolution needs to know about the demo company, set once: what each
system's userId is, the partner's member id kind, and the computed traits its
marketers use. Reruns change nothing."""

from __future__ import annotations

from profiles import services as profile_services
from profiles.models import ComputedTrait, IdentifierKind

PARTNER_KIND = dict(
    label="Peak Pass member id",
    priority=40,
    max_per_profile=1,
    normalizer="text",
    trait_keys=["peakPassMemberId"],
)

# key, label, event, aggregation, property, window days
COMPUTED_TRAITS = [
    ("lifetime_value", "Lifetime value", "Order Completed", "sum", "revenue", None),
    ("orders", "Number of orders", "Order Completed", "count", "", None),
    ("average_order_value", "Average order value", "Order Completed", "avg", "revenue", None),
    ("orders_last_30_days", "Orders, last 30 days", "Order Completed", "count", "", 30),
    (
        "days_since_last_order",
        "Days since last order",
        "Order Completed",
        "days_since_last",
        "",
        None,
    ),
    (
        "favourite_category",
        "Favourite category",
        "Product Viewed",
        "most_frequent",
        "category",
        None,
    ),
    ("product_views_14d", "Product views, last 14 days", "Product Viewed", "count", "", 14),
]


def configure(*, sources: dict, specs: dict) -> None:
    IdentifierKind.objects.get_or_create(name="partner_member_id", defaults=PARTNER_KIND)
    for key, source in sources.items():
        kind = specs[key].user_id_kind
        if kind != "user_id":
            profile_services.set_source_user_id_kind(source=source, kind_name=kind)
    for key, label, event, aggregation, prop, window in COMPUTED_TRAITS:
        ComputedTrait.objects.get_or_create(
            key=key,
            defaults=dict(
                label=label,
                event_name=event,
                aggregation=aggregation,
                property=prop,
                window_days=window,
            ),
        )
