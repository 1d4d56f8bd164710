"""What identity resolution needs to know about the demo company, set once: what each
system's userId is, the partner's member id kind, and the computed traits its
marketers use. Reruns change nothing."""

from __future__ import annotations

from profiles import services as profile_services
from profiles.models import ComputedTrait, IdentifierKind
from profiles.rules import services as rules

PARTNER_KIND = dict(
    label="Peak Pass member id",
    priority=40,
    max_per_profile=1,
    normalizer="text",
    trait_keys=["peakPassMemberId"],
)

# key, label, event, aggregation, property, window days: besides the orders, revenue,
# days since the last order and RFM scores every installation has (profiles migration 0011)
COMPUTED_TRAITS = [
    ("average_order_value", "Average order value", "Order Completed", "avg", "revenue", None),
    ("orders_last_30_days", "Orders, last 30 days", "Order Completed", "count", "", 30),
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
        if not ComputedTrait.objects.filter(key=key).exists():
            rules.save_computed_trait(
                key=key,
                label=label,
                event_name=event,
                aggregation=aggregation,
                property=prop,
                window_days=window,
            )
