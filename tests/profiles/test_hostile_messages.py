"""Whatever the collection API accepts, processing handles: generated messages with odd
values in every place the pipeline reads (identifier traits, consent, external ids,
numbers past a float, odd types) are processed, and none ends in the quarantine.

A quarantined event is a bug to fix (the quarantine keeps the platform running while
it is fixed), so this hunts for them. CDP_PROPERTY_EXAMPLES=500 for a longer hunt.
"""

from __future__ import annotations

import os

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations import services
from integrations.models import EventInbox, QuarantinedEvent
from profiles.models import ComputedTrait, StageRule
from tests.support.signing import signed

from .conftest import drain

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=int(os.environ.get("CDP_PROPERTY_EXAMPLES", "100")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

odd_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "NaN",
            "1e999",
            "-inf",
            "2024-02-30",
            "null",
            "",
            " ",
            "0",
            "+31 6 12345678",
            "00",
            "@",
            "a@b",
            "x" * 400,
            "Ω≈ç√",
            "1,5",
        ]
    )
)
odd_values = st.recursive(
    odd_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
trait_keys = st.sampled_from(
    [
        "email",
        "phone",
        "crmId",
        "firstName",
        "lastName",
        "name",
        "age",
        "ltv",
        "birthday",
        "plan",
        "country",
        "consent",
        "address",
    ]
)
consent = st.fixed_dictionaries(
    {},
    optional={
        "categoryPreferences": st.dictionaries(st.text(max_size=12), odd_values, max_size=3)
        | odd_values
    },
)
external_ids = st.lists(
    st.fixed_dictionaries(
        {}, optional={"id": odd_scalars, "type": st.text(max_size=10), "collection": odd_scalars}
    )
    | odd_values,
    max_size=3,
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "consent": consent | odd_values,
        "externalIds": external_ids | odd_values,
        "campaign": st.dictionaries(st.text(max_size=8), odd_values, max_size=3),
        "page": st.dictionaries(st.text(max_size=8), odd_values, max_size=3),
        "traits": st.dictionaries(trait_keys, odd_values, max_size=3),
    },
)
messages = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["identify", "track", "page", "screen", "group", "alias"]),
        "userId": st.sampled_from(["u1", "u2", "CRM-1"]) | st.text(min_size=1, max_size=20),
        "event": st.sampled_from(["Order Completed", "Product Viewed"])
        | st.text(min_size=1, max_size=30),
    },
    optional={
        "anonymousId": st.text(min_size=1, max_size=20),
        "previousId": st.text(min_size=1, max_size=20) | st.integers(),
        "groupId": st.text(min_size=1, max_size=20),
        "name": st.text(max_size=30),
        "traits": st.dictionaries(trait_keys | st.text(max_size=10), odd_values, max_size=5),
        "properties": st.dictionaries(
            st.sampled_from(["revenue", "total", "name", "category", "price"])
            | st.text(max_size=10),
            odd_values,
            max_size=4,
        ),
        "context": contexts,
    },
)


@pytest.fixture
def rules(db):
    ComputedTrait.objects.create(
        key="spent",
        label="Spent",
        event_name="Order Completed",
        aggregation="sum",
        property="revenue",
    )
    ComputedTrait.objects.create(
        key="last_category",
        label="Last category",
        event_name="Product Viewed",
        aggregation="last",
        property="category",
    )
    StageRule.objects.create(stage="acquisition", event_names=["Order Completed"])


@SETTINGS
@given(batch=st.lists(messages, min_size=1, max_size=6))
def test_every_accepted_message_is_processed_and_none_is_quarantined(web, rules, batch):
    with transaction.atomic():  # each example rolls back: they never see each other's rows
        result = services.ingest_messages(source_id=web.id, messages=signed(web, *batch))
        drain()
        assert not EventInbox.objects.exists()
        errors = list(QuarantinedEvent.objects.values_list("step", "error", "payload"))
        assert errors == [], (result, errors)
        transaction.set_rollback(True)
