"""Ready-made journeys, one per stage of the customer journey. ``create(key=...)`` makes
an editable draft campaign from one, with the message templates it needs (and, for the
nurture series, the segment it starts from).

E-mail steps use the first enabled SMTP destination; without one their
``destination_id`` is left empty and the draft says "Choose a destination" when started.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from integrations.models import Destination
from segments import services as segment_services
from segments.models import Segment

from . import services
from .models import Campaign, MessageTemplate

DAY = 24 * 60
STAGES = [
    ("orientation", "Orientation"),
    ("consideration", "Consideration"),
    ("acquisition", "Acquisition"),
    ("retention", "Retention and loyalty"),
]
STAGE_LABELS = dict(STAGES)

FOOTER = (
    '<p style="color:#666;font-size:12px">You receive this because you are a customer of ours. '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a>.</p>'
)
CART_TABLE = (
    "<table><thead><tr><th>Item</th><th>Quantity</th><th>Price</th></tr></thead><tbody>"
    "{% for item in event.products %}<tr><td>{{ item.name }}</td>"
    "<td>{{ item.quantity|default:1 }}</td><td>{{ item.price }}</td></tr>"
    "{% endfor %}</tbody></table>"
)


# campaigns/recommendations/context.py: products for the person, never what they bought
# nor what is out of stock.
def _product_cards(loop: str) -> str:
    return (
        f"{{% for p in {loop} %}}<p><strong>{{{{ p.name }}}}</strong>"
        "{% if p.price %} · {{ p.price }} {{ p.currency }}{% endif %}"
        '{% if p.url %} · <a href="{{ p.url }}">See it</a>{% endif %}</p>{% endfor %}'
    )


VIEWED_NOT_BOUGHT = (
    "{% if recommendations.viewed_not_bought %}<p>Still thinking about these?</p>"
    + _product_cards("recommendations.viewed_not_bought")
    + "{% endif %}"
)


@dataclass
class Item:
    key: str
    stage: str
    name: str
    description: str
    kind: str
    trigger_event: str = ""
    goal_event: str = ""
    entry: str = Campaign.Entry.ONCE
    cooldown_days: int | None = None
    # name -> (subject, html); the steps name templates as "@name".
    templates: dict[str, tuple[str, str]] = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)
    segment: dict | None = None  # {"name", "description", "rule"}

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS[self.stage]


def _email(sid: str, template: str, next_id: str | None = None, label: str = "") -> dict:
    step = {
        "id": sid,
        "type": "send_email",
        "template_id": "@" + template,
        "destination_id": "@smtp",
    }
    if label:
        step["label"] = label
    if next_id:
        step["next"] = next_id
    return step


def _wait(minutes: int, next_id: str, label: str = "", sid: str = "") -> dict:
    """A wait step, ``wait-3d`` or ``wait-1h`` by default."""
    if not sid:
        sid = f"wait-{minutes // DAY}d" if minutes % DAY == 0 else f"wait-{minutes // 60}h"
    step = {"id": sid, "type": "wait", "minutes": minutes, "next": next_id}
    if label:
        step["label"] = label
    return step


def _unless_ordered(
    *, days: int, wait_label: str, question: str, email: dict, branch_id: str = "ordered"
) -> list[dict]:
    """Wait ``days``, then send ``email`` unless an order came since the entry: the shape
    of every follow-up that an order makes pointless."""
    return [
        _wait(days * DAY, branch_id, wait_label),
        {
            "id": branch_id,
            "type": "branch",
            "condition": {"type": "event_since_entry", "name": "Order Completed"},
            "yes": "done",
            "no": email["id"],
            "label": question,
        },
        {"id": "done", "type": "exit"},
        email,
    ]


ITEMS = [
    Item(
        key="welcome-download",
        stage="orientation",
        name="Welcome after a download",
        description="Someone downloads a guide or white paper: thank them at once with the "
        "content, and introduce the company three days later.",
        kind=Campaign.Kind.EVENT,
        trigger_event="Content Downloaded",
        goal_event="Order Completed",
        templates={
            "welcome": (
                "Your download: {{ event.title|default:'our guide' }}",
                "<p>Hi {{ traits.firstName|default:'there' }},</p><p>Thanks for downloading "
                "<strong>{{ event.title|default:'our guide' }}</strong>. We hope it helps.</p>"
                + FOOTER,
            ),
            "introduction": (
                "A little more about us",
                "<p>Hi {{ traits.firstName|default:'there' }},</p><p>Since you read "
                "{{ event.title|default:'our guide' }}, here is who we are and how we help "
                "teams like yours.</p>" + FOOTER,
            ),
        },
        steps=[
            _email("welcome", "welcome", "wait-3d", "Thank you + the download"),
            _wait(3 * DAY, "introduction", "Three days later"),
            _email("introduction", "introduction", label="Introduce the company"),
        ],
    ),
    Item(
        key="nurture-product-viewers",
        stage="consideration",
        name="Nurture returning product viewers",
        description="People who viewed products at least twice in 14 days and did not order "
        "get a series of three e-mails, stopping as soon as they order.",
        kind=Campaign.Kind.SEGMENT_ENTERED,
        goal_event="Order Completed",
        segment={
            "name": "Returning product viewers without an order",
            "description": "Viewed products at least twice in the last 14 days, no order in "
            "that time (made by the gallery's nurture series).",
            "rule": {
                "version": 1,
                "root": {
                    "type": "group",
                    "match": "all",
                    "children": [
                        {
                            "type": "event",
                            "name": "Product Viewed",
                            "count": {"op": "at_least", "value": 2},
                            "window": {"last_days": 14},
                        },
                        {
                            "type": "event",
                            "name": "Order Completed",
                            "did": False,
                            "window": {"last_days": 14},
                        },
                    ],
                },
            },
        },
        templates={
            "nurture-1": (
                "Still looking, {{ traits.firstName|default:'friend' }}?",
                "<p>We noticed you have been looking at "
                "{{ computed.favourite_category|default:'our products' }}. Here is what "
                "other customers say about them.</p>" + VIEWED_NOT_BOUGHT + FOOTER,
            ),
            "nurture-2": (
                "How to choose the right one",
                "<p>A short guide to choosing among our "
                "{{ computed.favourite_category|default:'products' }}.</p>" + FOOTER,
            ),
            "nurture-3": (
                "Free shipping on your first order",
                "<p>Ready when you are: free shipping on your first order this week.</p>" + FOOTER,
            ),
        },
        steps=[
            _email("nurture-1", "nurture-1", "wait-2d", "Reviews of what they viewed"),
            _wait(2 * DAY, "nurture-2"),
            _email("nurture-2", "nurture-2", "wait-3d", "Buying guide"),
            _wait(3 * DAY, "nurture-3"),
            _email("nurture-3", "nurture-3", label="Offer"),
        ],
    ),
    Item(
        key="cart-abandonment",
        stage="acquisition",
        name="Cart abandonment",
        description="Checkout started but no order: after an hour, wait a little longer for "
        "the order, then send the cart's items back to them.",
        kind=Campaign.Kind.EVENT,
        trigger_event="Checkout Started",
        goal_event="Order Completed",
        entry=Campaign.Entry.COOLDOWN,
        cooldown_days=1,
        templates={
            "cart-reminder": (
                "You left something in your cart",
                "<p>Hi {{ traits.firstName|default:'there' }},</p><p>Your cart is still "
                "waiting for you:</p>"
                + CART_TABLE
                + "<p>Total: {{ event.value }} {{ event.currency }}</p>"
                + VIEWED_NOT_BOUGHT
                + FOOTER,
            ),
        },
        steps=[
            _wait(60, "await-order", "Give them an hour"),
            {
                "id": "await-order",
                "type": "wait_for_event",
                "event": "Order Completed",
                "timeout_minutes": 60,
                "next": "ordered",
                "timeout_next": "reminder",
                "label": "Did they order?",
            },
            {"id": "ordered", "type": "exit", "label": "Ordered"},
            _email("reminder", "cart-reminder", label="E-mail the cart"),
        ],
    ),
    Item(
        key="quote-follow-up",
        stage="acquisition",
        name="Quote follow-up",
        description="Someone asks for a quote: two days later, if no order came, follow up "
        "with the products they asked about.",
        kind=Campaign.Kind.EVENT,
        trigger_event="Quote Requested",
        goal_event="Order Completed",
        entry=Campaign.Entry.EVERY,
        templates={
            "quote-follow-up": (
                "About your quote {{ event.quote_id }}",
                "<p>Hi {{ traits.firstName|default:'there' }},</p><p>You asked for a quote "
                "for {{ event.quantity|default:'' }} of:</p><ul>{% for item in event.products %}"
                "<li>{{ item.name }}</li>{% endfor %}</ul><p>Any questions? Just reply to "
                "this e-mail.</p>" + FOOTER,
            ),
        },
        steps=_unless_ordered(
            days=2,
            wait_label="Two days later",
            question="Ordered since?",
            email=_email("follow-up", "quote-follow-up", label="Follow up"),
        ),
    ),
    Item(
        key="repeat-purchase",
        stage="retention",
        name="Repeat-purchase reminder",
        description="30 days after an order, remind them to restock unless they ordered again.",
        kind=Campaign.Kind.EVENT,
        trigger_event="Order Completed",
        goal_event="Order Completed",
        entry=Campaign.Entry.EVERY,
        templates={
            "restock": (
                "Time to restock?",
                "<p>Hi {{ traits.firstName|default:'there' }},</p><p>A month ago you ordered:"
                "</p><ul>{% for item in event.products %}<li>{{ item.name }}</li>{% endfor %}"
                "</ul><p>Running low? Order again in two clicks.</p>" + FOOTER,
            ),
        },
        steps=_unless_ordered(
            days=30,
            wait_label="30 days later",
            question="Ordered again?",
            branch_id="again",
            email=_email("restock", "restock", label="Restock reminder"),
        ),
    ),
    Item(
        key="loyalty-reward",
        stage="retention",
        name="Loyalty reward",
        description="When someone earns loyalty points, thank them with their new balance and "
        "mark them as rewarded.",
        kind=Campaign.Kind.EVENT,
        trigger_event="Loyalty Points Earned",
        entry=Campaign.Entry.COOLDOWN,
        cooldown_days=7,
        templates={
            "loyalty": (
                "You earned {{ event.points }} points",
                "<p>Hi {{ traits.firstName|default:'there' }},</p><p>Thank you for shopping "
                "with us: you just earned <strong>{{ event.points }}</strong> loyalty points."
                "</p>" + FOOTER,
            ),
        },
        steps=[
            _email("thank", "loyalty", "mark", "Thank you + points"),
            {"id": "mark", "type": "set_trait", "key": "loyalty_thanked", "value": "yes"},
        ],
    ),
    Item(
        key="recommendations",
        stage="retention",
        name="Recommendations from purchase history",
        description="A week after an order, recommend what is bought together with what "
        "they bought and what is popular in their favourite category (computed each night "
        "from every order; never what they bought or what is out of stock).",
        kind=Campaign.Kind.EVENT,
        trigger_event="Order Completed",
        goal_event="Order Completed",
        entry=Campaign.Entry.COOLDOWN,
        cooldown_days=30,
        templates={
            "recommendations": (
                "Picked for you{% if recommendations.category %}: more "
                "{{ recommendations.category }}{% endif %}",
                "<p>Hi {{ traits.firstName|default:'there' }},</p>"
                "{% if recommendations.bought_together %}<p>Customers who bought what you "
                "bought also picked:</p>"
                + _product_cards("recommendations.bought_together")
                + "{% endif %}{% if recommendations.popular_in_category %}<p>Popular in "
                "{{ recommendations.category|default:'your favourite category' }}:</p>"
                + _product_cards("recommendations.popular_in_category")
                + "{% endif %}{% if not recommendations %}<p>Thank you for your order: "
                "our new arrivals are waiting for you.</p>{% endif %}" + FOOTER,
            ),
        },
        steps=[
            _wait(7 * DAY, "recommend", "A week later"),
            _email("recommend", "recommendations", label="Recommendations"),
        ],
    ),
]
BY_KEY = {item.key: item for item in ITEMS}


def by_stage() -> list[tuple[str, list[Item]]]:
    return [(label, [i for i in ITEMS if i.stage == stage]) for stage, label in STAGES]


def smtp_destination() -> Destination | None:
    return (
        Destination.objects.filter(kind=Destination.Kind.SMTP, enabled=True).order_by("id").first()
    )


def _resolve(value, refs: dict):
    if isinstance(value, str) and value.startswith("@"):
        return refs.get(value[1:])
    return value


@transaction.atomic
def create(*, key: str, created_by=None) -> Campaign:
    """A draft campaign from the gallery item ``key`` (KeyError when there is none)."""
    item = BY_KEY[key]
    destination = smtp_destination()
    refs: dict = {"smtp": destination.pk if destination else None}
    for name, (subject, html) in item.templates.items():
        template = MessageTemplate.objects.create(
            name=f"{item.name}: {name.replace('-', ' ')}", subject=subject, body_html=html
        )
        refs[name] = template.pk
    steps = [
        {
            k: _resolve(v, refs) if k in ("template_id", "destination_id") else v
            for k, v in step.items()
        }
        for step in item.steps
    ]
    segment = None
    if item.segment:
        segment = Segment.objects.filter(name=item.segment["name"]).first()
        if segment is None:
            segment = segment_services.create_segment(created_by=created_by, **item.segment)
    name = item.name
    taken = set(Campaign.objects.filter(name__startswith=name).values_list("name", flat=True))
    n = 2
    while name in taken:
        name, n = f"{item.name} ({n})", n + 1
    fields = dict(
        name=name,
        description=item.description,
        kind=item.kind,
        segment=segment,
        trigger_event=item.trigger_event,
        entry=item.entry,
        cooldown_days=item.cooldown_days,
        goal_event=item.goal_event,
        steps=steps,
        gallery_key=item.key,
    )

    try:
        return services.create_campaign(created_by=created_by, **fields)
    except services.CampaignError:
        # No SMTP destination yet: a draft all the same, its page says what to choose.
        return Campaign.objects.create(created_by=created_by, **fields)
