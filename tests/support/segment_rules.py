"""Segment rules as the tests and the segment bench write them."""


def rule(*children, match="all"):
    return {"version": 1, "root": {"type": "group", "match": match, "children": list(children)}}


# The example: Dutch, viewed products 3 times in 14 days, no order in 14 days.
EXAMPLE = rule(
    {"type": "trait", "key": "country", "op": "equals", "value": "NL"},
    {
        "type": "event",
        "name": "Product Viewed",
        "count": {"op": "at_least", "value": 3},
        "window": {"last_days": 14},
    },
    {"type": "event", "name": "Order Completed", "did": False, "window": {"last_days": 14}},
)
