"""The tracking plan at the door: a source's events checked against their JSON Schemas and
its identify traits against their types, in the one ingestion path; per source, what
breaks the plan is stored and flagged, stored without the bad parts, or blocked to the
rejected list, the good messages of the same batch kept; violations counted per event
and kind with a few examples; a plan change seen by the next ingest."""

import json

import pytest
from django.db import connection

from integrations import services as collect
from integrations.models import RejectedEvent
from integrations.tracking_plan import services as plans
from integrations.tracking_plan.models import Mode, Violation
from integrations.tracking_plan.schemas import SchemaInvalid

pytestmark = pytest.mark.django_db

ORDER = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
        "products": {
            "type": "array",
            "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
        },
    },
    "required": ["order_id"],
}


@pytest.fixture
def shop(db):
    return collect.create_source(name="Shop backend", kind="server")


def plan_for(source, mode=Mode.FLAG, **extra):
    return plans.create_plan(
        name=f"Plan of {source.name}",
        events=[{"name": "Order Completed", "schema": ORDER}],
        traits={"email": "string", "age": "integer"},
        sources=[(source, mode)],
        **extra,
    )


def order(message_id, **properties):
    props = {"order_id": "o-1", "total": 12.5, **properties}
    return {
        "type": "track",
        "userId": "ann",
        "event": "Order Completed",
        "messageId": message_id,
        "properties": props,
    }


def ingest(source, *messages):
    return collect.ingest_messages(source_id=source.pk, messages=list(messages))


def stored(message_id) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM integrations_event WHERE message_id = %s", [message_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return json.loads(row[0]) if isinstance(row[0], str) else row[0]


def counts(source) -> dict:
    found = Violation.objects.filter(source_id=source.pk)
    return {(v.event, v.kind): v.count for v in found}


def test_a_valid_event_passes_and_counts_nothing(shop):
    plan_for(shop, Mode.BLOCK)
    result = ingest(shop, order("m1", products=[{"sku": "A"}]))
    assert (result.stored, result.violations, result.rejections) == (1, 0, [])
    assert not Violation.objects.exists()


def test_a_wrong_type_is_stored_and_flagged_with_where_it_was(shop):
    plan_for(shop, Mode.FLAG)
    result = ingest(shop, order("m1", total="a lot"), order("m2"))
    assert (result.stored, result.violations) == (2, 1)
    assert stored("m1")["properties"]["total"] == "a lot"
    violation = Violation.objects.get(source_id=shop.pk)
    assert (violation.event, violation.kind, violation.count) == (
        "Order Completed",
        "invalid_property",
        1,
    )
    (example,) = violation.examples
    assert example["message_id"] == "m1"
    assert example["path"] == "/properties/total"
    assert example["detail"] == "expected number, got string"
    assert "a lot" not in json.dumps(violation.examples)  # never the value


def test_drop_mode_stores_the_event_without_its_invalid_and_unplanned_properties(shop):
    plan_for(shop, Mode.DROP)
    result = ingest(
        shop, order("m1", total="a lot", coupon="X", products=[{"sku": 7}, {"sku": "B"}])
    )
    assert result.stored == 1
    properties = stored("m1")["properties"]
    assert properties == {"order_id": "o-1", "products": [{}, {"sku": "B"}]}
    assert counts(shop) == {
        ("Order Completed", "invalid_property"): 2,
        ("Order Completed", "unplanned_property"): 1,
    }


def test_block_mode_rejects_with_the_violation_and_keeps_the_good_events(shop):
    plan_for(shop, Mode.BLOCK)
    result = ingest(shop, order("m1", total=-3), order("m2"))
    assert result.stored == 1
    assert stored("m1") is None and stored("m2") is not None
    (rejected,) = RejectedEvent.objects.filter(source=shop)
    assert rejected.code == "tracking_plan"
    assert rejected.reason.startswith("Tracking plan: /properties/total fails minimum 0")
    assert rejected.payload["messageId"] == "m1"
    assert result.rejections[0].code == "tracking_plan"


def test_a_missing_required_property_is_its_own_kind(shop):
    plan_for(shop, Mode.FLAG)
    message = order("m1")
    del message["properties"]["order_id"]
    ingest(shop, message)
    violation = Violation.objects.get(source_id=shop.pk)
    assert violation.kind == "missing_property"
    assert violation.examples[0]["path"] == "/properties/order_id"


@pytest.mark.parametrize(
    ("mode", "stored_properties", "rejected"),
    [(Mode.FLAG, {"step": 2}, 0), (Mode.DROP, {}, 0), (Mode.BLOCK, None, 1)],
)
def test_an_unplanned_event_follows_the_source_mode(shop, mode, stored_properties, rejected):
    plan_for(shop, mode)
    message = {"type": "track", "userId": "ann", "event": "Checkout Step", "messageId": "u1"}
    result = ingest(shop, message | {"properties": {"step": 2}}, order("m2"))
    assert result.stored == 2 - rejected
    kept = stored("u1")
    assert (kept["properties"] if kept else None) == stored_properties
    assert RejectedEvent.objects.filter(source=shop).count() == rejected
    assert counts(shop) == {("Checkout Step", "unplanned_event"): 1}


def test_identify_traits_are_checked_against_their_types(shop):
    plan_for(shop, Mode.DROP)
    identify = {"type": "identify", "userId": "ann", "messageId": "i1"}
    ingest(shop, identify | {"traits": {"email": "a@example.org", "age": "old", "vip": True}})
    assert stored("i1")["traits"] == {"email": "a@example.org"}
    assert counts(shop) == {("", "invalid_trait"): 1, ("", "unplanned_trait"): 1}
    ingest(shop, identify | {"messageId": "i2", "traits": {"email": None, "age": 40.0}})
    assert counts(shop) == {("", "invalid_trait"): 1, ("", "unplanned_trait"): 1}


def test_a_source_without_a_plan_is_not_checked(shop):
    other = collect.create_source(name="Other", kind="server")
    plan_for(other, Mode.BLOCK)
    result = ingest(shop, order("m1", total="a lot"))
    assert (result.stored, result.violations) == (1, 0)


def test_examples_are_bounded_to_the_newest_five(shop):
    plan_for(shop, Mode.FLAG)
    ingest(shop, *[order(f"a{n}", total="x") for n in range(4)])
    ingest(shop, *[order(f"b{n}", total="x") for n in range(3)])
    violation = Violation.objects.get(source_id=shop.pk)
    assert violation.count == 7
    assert [e["message_id"] for e in violation.examples] == ["b2", "b1", "b0", "a3", "a2"]


def test_a_plan_change_is_seen_by_the_next_ingest(shop):
    plan = plan_for(shop, Mode.BLOCK)
    assert ingest(shop, order("m1", total="x")).stored == 0  # compiled and cached
    loose = ORDER | {"properties": ORDER["properties"] | {"total": {}}}
    plans.update_plan(plan=plan, events=[{"name": "Order Completed", "schema": loose}])
    assert ingest(shop, order("m2", total="x")).stored == 1
    plans.follow(plan=plan, source=shop, mode=Mode.FLAG)
    assert ingest(shop, order("m3", coupon="c")).stored == 1
    plans.unfollow(plan=plan, source=shop)
    assert ingest(shop, order("m4", coupon="c")).violations == 0


def _deep(levels: int) -> dict:
    schema: dict = {"type": "object"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ([], "must be a JSON object"),
        ({"type": "object", "properties": {"total": {"type": "money"}}}, "Not a valid JSON"),
        ({"type": "string"}, '"type" must be "object"'),
        ({"$ref": "https://example.org/schema.json"}, "does not point inside"),
        ({"properties": {"a": {"$ref": "#/$defs/missing"}}}, "does not point inside"),
        (_deep(3000), "nested too deeply"),
    ],
)
def test_an_invalid_schema_is_refused(shop, schema, says):
    plan = plan_for(shop)
    with pytest.raises(SchemaInvalid, match=says.replace("(", r"\(")):
        plans.save_event(plan=plan, name="Signed Up", schema=schema)
    with pytest.raises(SchemaInvalid):
        plans.update_plan(plan=plan, events=[{"name": "Signed Up", "schema": schema}])
    assert list(plan.events.values_list("name", flat=True)) == ["Order Completed"]


FAST_CASES = [
    ({"type": "integer"}, [1, 1.0, 1.5, True, "1", None]),
    ({"type": "number"}, [1, 2.5, True, "2", None]),
    ({"type": ["string", "null"]}, ["a", None, 0, False]),
    ({"type": "boolean"}, [True, 0, 1, None]),
    ({"enum": ["a", "b", None]}, ["a", "c", None, 1, ["a"], {"a": 1}]),
    ({"const": "x"}, ["x", "y", None]),
    ({"minimum": 1, "exclusiveMaximum": 5}, [0, 1, 5, 4.9, "9", True]),
    ({"minLength": 2, "maxLength": 3, "pattern": "^a"}, ["a", "ab", "abcd", "ba", 7]),
    ({"type": "array", "items": {"type": "string"}, "maxItems": 2}, [[], ["a"], [1], ["a"] * 3]),
    (
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}},
            "required": ["a"],
            "additionalProperties": {"type": "string"},
        },
        [{"a": 1}, {"a": 1, "b": "x"}, {"a": 1, "b": 2}, {}, {"a": "1"}, []],
    ),
    ({"properties": {"a": False}}, [{}, {"a": None}]),
    (
        {"properties": {"a": {"items": {"properties": {"b": {"type": "string"}}}}}},
        [{"a": [{"b": "x"}, {}]}, {"a": [{"b": 1}]}, {"a": "no list"}, {"a": [1]}],
    ),
    ({"additionalProperties": False, "properties": {"a": {}}}, [{"a": 1}, {"a": 1, "b": 2}]),
]


@pytest.mark.parametrize(("schema", "values"), FAST_CASES)
def test_the_fast_predicate_agrees_with_jsonschema(schema, values):
    import jsonschema

    from integrations.tracking_plan.predicate import predicate

    check = predicate(schema)
    assert check is not None
    for value in values:
        assert check(value) == jsonschema.Draft202012Validator(schema).is_valid(value), value


@pytest.mark.parametrize(
    "schema",
    [{"oneOf": [{"type": "string"}]}, {"enum": [1, True]}, {"items": [{}]}, {"$ref": "#"}],
)
def test_what_the_fast_predicate_does_not_know_is_left_to_jsonschema(schema):
    from integrations.tracking_plan.predicate import predicate

    assert predicate(schema) is None


def test_a_schema_with_other_keywords_is_validated_by_jsonschema(shop):
    schema = {"type": "object", "properties": {"n": {"oneOf": [{"type": "string"}]}}}
    plans.create_plan(
        name="OneOf", events=[{"name": "E", "schema": schema}], sources=[(shop, Mode.FLAG)]
    )
    base = {"type": "track", "userId": "ann", "event": "E"}
    assert ingest(shop, base | {"properties": {"n": "x"}}).violations == 0
    assert ingest(shop, base | {"properties": {"n": 1}}).violations == 1
    assert Violation.objects.get().examples[0]["detail"].startswith("fails oneOf")


def test_a_plan_is_inferred_from_the_events_a_source_sent(shop):
    ingest(
        shop,
        order("m1", products=[{"sku": "A", "qty": 1}]),
        order("m2", total=3, coupon=None),
        {"type": "track", "userId": "ann", "event": "Signed Up"},
        {"type": "identify", "userId": "ann", "traits": {"email": "a@x.org", "age": 40}},
        {"type": "identify", "userId": "bob", "traits": {"age": 41.5, "vip": True}},
        {"type": "page", "userId": "ann", "name": "Home"},
    )
    from integrations.tracking_plan.inference import infer_plan

    plan = infer_plan(source=shop, name="Seen")
    schemas = dict(plan.events.values_list("name", "schema"))
    assert set(schemas) == {"Order Completed", "Signed Up"}
    assert schemas["Signed Up"] == {"type": "object", "properties": {}}
    properties = schemas["Order Completed"]["properties"]
    assert properties["total"] == {"type": "number"}
    assert properties["order_id"] == {"type": "string"}
    assert properties["coupon"] == {"type": "null"}
    assert properties["products"]["items"]["properties"]["qty"] == {"type": "integer"}
    assert plan.traits == {"age": "number", "email": "string", "vip": "boolean"}
    assert plan.links.get().source == shop and plan.links.get().mode == Mode.FLAG
    # What it was inferred from passes it.
    assert ingest(shop, order("m3", products=[{"sku": "B", "qty": 2}])).violations == 0
