from django.apps import apps

"""The rules a fresh installation starts with; admins edit them afterwards."""

# name, label, priority, max per profile, normaliser, trait keys
IDENTIFIER_KINDS = [
    ("user_id", "User id", 100, 1, "text", ["webshopAccountId", "accountId"]),
    ("crm_id", "CRM id", 90, 1, "text", ["crmId", "crm_id"]),
    ("loyalty_card", "Loyalty card", 80, 3, "text", ["loyaltyCardId", "loyalty_card_id"]),
    ("email", "E-mail", 70, 5, "email", ["email"]),
    ("phone", "Phone", 60, 3, "phone", ["phone"]),
    ("anonymous_id", "Anonymous id", 10, 50, "text", []),
]

# Identifier kinds that are personal data (masked for roles not granted to see it).
PERSONAL_KINDS = ("email", "phone")

BLOCKED_VALUES = [
    "null", "undefined", "anonymous", "0", "-1", "none", "n/a", "unknown", "test",
    "test@example.com", "test@test.com", "noemail@example.com", "",
]  # fmt: skip

# slug, label, category keys (context.consent.categoryPreferences), trait keys
CONSENT_PURPOSES = [
    ("email_marketing", "E-mail marketing", ["email_marketing", "email", "marketing"],
     ["marketingOptIn", "emailOptIn", "email_opt_in"]),
    ("sms_marketing", "SMS marketing", ["sms_marketing", "sms"], ["smsOptIn", "sms_opt_in"]),
    ("advertising", "Advertising", ["advertising", "ads", "targeting"], ["adsOptIn"]),
    ("analytics", "Analytics", ["analytics", "statistics", "performance"], []),
    ("personalisation", "Personalisation", ["personalisation", "personalization", "functional"],
     []),
    ("partner_sharing", "Partner sharing", ["partner_sharing", "data_sharing", "sharing"],
     ["partnerSharingOptIn"]),
]  # fmt: skip

# stage, event names (or the types page / screen), min count, min distinct days, quiet days
STAGE_RULES = [
    ("orientation", ["page", "screen", "Products Searched", "Content Downloaded"], 1, 1, None),
    ("consideration", ["page", "screen"], 1, 2, None),  # a return visit
    ("consideration", ["Product Viewed", "Information Requested", "Product Added to Wishlist",
                       "Email Link Clicked"], 1, 1, None),
    ("acquisition", ["Product Added", "Cart Viewed", "Checkout Started", "Quote Requested"],
     1, 1, None),
    ("retention", ["Order Completed"], 1, 1, None),
    ("lapsed", [], 1, 1, 60),
]  # fmt: skip


# The RFM scores (profiles/computed/scores.py): key, label, and the definition's fields.
# The demo defines days_since_last_order the same way, and finds it defined already.
ORDER = "Order Completed"
SCORES = [
    ("days_since_last_order", "Days since last order",
     dict(event_name=ORDER, aggregation="days_since_last")),
    ("order_count", "Number of orders", dict(event_name=ORDER, aggregation="count")),
    ("order_revenue", "Order revenue",
     dict(event_name=ORDER, aggregation="revenue")),
    ("recency_score", "Recency score (R, 1–5)",
     dict(aggregation="score", score_of="days_since_last_order", higher_is_better=False)),
    ("frequency_score", "Frequency score (F, 1–5)",
     dict(aggregation="score", score_of="order_count")),
    ("monetary_score", "Monetary score (M, 1–5)",
     dict(aggregation="score", score_of="order_revenue")),
    ("rfm_segment", "RFM segment", dict(aggregation="rfm_segment")),
    ("rfm_score", "RFM score (e.g. 545)", dict(
        aggregation="formula",
        formula="recency_score * 100 + frequency_score * 10 + monetary_score")),
]  # fmt: skip


def install_scores(apps) -> None:
    """The RFM definitions, where no definition has their key (an admin's edits stay)."""
    model = apps.get_model("profiles", "ComputedTrait")
    for key, label, fields in SCORES:
        model.objects.get_or_create(key=key, defaults=dict(label=label, **fields))


def install_purposes(apps) -> None:
    """The consent purposes, where none has their slug (an admin's edits stay)."""
    purpose_model = apps.get_model("profiles", "ConsentPurpose")
    for slug, label, categories, traits in CONSENT_PURPOSES:
        purpose_model.objects.get_or_create(
            slug=slug, defaults=dict(label=label, category_keys=categories, trait_keys=traits)
        )


def install(apps) -> None:
    kind_model = apps.get_model("profiles", "IdentifierKind")
    for name, label, priority, limit, normalizer, keys in IDENTIFIER_KINDS:
        kind_model.objects.get_or_create(
            name=name,
            defaults=dict(
                label=label,
                priority=priority,
                max_per_profile=limit,
                normalizer=normalizer,
                trait_keys=keys,
                builtin=True,
            ),
        )
    blocked = apps.get_model("profiles", "BlockedValue")
    for value in BLOCKED_VALUES:
        blocked.objects.get_or_create(kind=None, value=value)
    install_purposes(apps)
    rule_model = apps.get_model("profiles", "StageRule")
    if not rule_model.objects.exists():
        for stage, names, count, days, quiet in STAGE_RULES:
            rule_model.objects.create(
                stage=stage, event_names=names, min_count=count, min_days=days, quiet_days=quiet
            )
    apps.get_model("profiles", "IdentitySettings").objects.get_or_create(pk=1)


def mark_personal(apps) -> None:
    """The personal-data flags a fresh installation starts with: the kinds of
    PERSONAL_KINDS and the trait keys whose names look personal (profiles.masking), and
    the grant's row (Account manager sees them in clear). An admin's choices stay: only
    run where the flags were never set (migration 0019, a flushed test database)."""
    from profiles.masking import looks_personal

    apps.get_model("profiles", "IdentifierKind").objects.filter(name__in=PERSONAL_KINDS).update(
        personal=True
    )
    trait_keys = apps.get_model("profiles", "TraitKey").objects
    keys = [key for key in trait_keys.values_list("key", flat=True) if looks_personal(key)]
    trait_keys.filter(key__in=keys).update(personal=True)
    apps.get_model("profiles", "PersonalDataSettings").objects.get_or_create(pk=1)


def ensure_installed() -> None:
    """Installs the defaults where they are missing (a test database flushed between tests
    loses what the data migration wrote)."""

    if not apps.get_model("profiles", "IdentifierKind").objects.filter(builtin=True).exists():
        install(apps)
        install_scores(apps)
        mark_personal(apps)
