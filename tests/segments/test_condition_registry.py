"""Every registered condition type (segments/conditions/) does all a type must: its
sample validates, its builder fields round-trip, it compiles, it is put in words and
explained, and the builder renders its template. A new type without a sample here fails."""

import pytest
from django.template.loader import get_template
from django.urls import reverse

from cdp_site.permissions import MARKETER
from profiles.models import Profile
from segments import compiler, explain, grammar
from segments.builder import fields as builder_fields
from segments.conditions import TYPES, Condition
from segments.models import Segment

from .conftest import rule

pytestmark = pytest.mark.django_db

SAMPLES = {
    "trait": {"type": "trait", "key": "age", "op": "between", "values": [18, 65.5]},
    "computed": {"type": "computed", "key": "orders_90d", "op": "gt", "value": 2},
    "event": {
        "type": "event",
        "name": "Product Viewed",
        "did": False,
        "count": {"op": "at_least", "value": 3},
        "window": {"last_days": 14},
        "where": [{"property": "category", "op": "in", "values": ["Jackets", "Coats"]}],
    },
    "sequence": {
        "type": "sequence",
        "first": {"name": "Cart Viewed", "where": [{"property": "items", "op": "gt", "value": 0}]},
        "then": {"name": "Order Completed"},
        "within_days": 2,
        "window": {"from": "2026-01-01", "to": "2026-02-01"},
    },
    "stage": {"type": "stage", "in": ["acquisition", "retention"]},
    "segment": {"type": "segment", "segment_id": 7, "member": False},
    "consent": {"type": "consent", "purpose": "marketing", "status": "denied"},
    "identifier": {"type": "identifier", "kind": "email"},
    "source": {"type": "source", "source_id": 3},
    "party": {"type": "party", "party": "second"},
}

KINDS = list(TYPES)


def test_the_builder_offers_every_registered_type_in_order():
    assert [name for name, _ in builder_fields.CONDITION_TYPES] == KINDS
    assert KINDS[0] == "trait" and all(isinstance(t, Condition) for t in TYPES.values())


@pytest.mark.parametrize("kind", KINDS)
def test_the_sample_validates_and_names_what_it_reads(kind):
    summary = grammar.validate(rule(SAMPLES[kind]))
    assert summary.depends_on == set(TYPES[kind].reads)
    assert set(SAMPLES[kind]) <= TYPES[kind].fields


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_field_is_named(kind):
    with pytest.raises(grammar.RuleError) as error:
        grammar.validate(rule({**SAMPLES[kind], "colour": "red"}))
    assert [e["field"] for e in error.value.errors] == ["root.children[0].colour"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_builder_fields_round_trip(kind):
    the_rule = rule(SAMPLES[kind])
    assert builder_fields.fields_to_rule(builder_fields.rule_to_fields(the_rule)) == the_rule


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_condition_is_of_its_type_and_fresh(kind):
    first, second = builder_fields.empty_condition(kind), builder_fields.empty_condition(kind)
    assert first["type"] == kind and first == second and first is not second
    posted = builder_fields.rule_to_fields(rule(first))
    assert builder_fields.fields_to_rule(posted)["root"]["children"]


@pytest.mark.parametrize("kind", KINDS)
def test_it_compiles_and_runs(kind):
    Profile.objects.create()
    assert compiler.queryset(rule(SAMPLES[kind])).count() in (0, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_it_is_put_in_words_and_explained(kind):
    text = explain.describe(rule(SAMPLES[kind]))
    assert text and text != kind
    profile = Profile.objects.create()
    found = explain.explain(rule=rule(SAMPLES[kind]), profile_id=profile.pk)
    condition = found.root.children[0]
    assert (condition.kind, condition.text) == (kind, text)
    assert condition.detail


@pytest.mark.parametrize("kind", KINDS)
def test_the_builder_renders_its_template(kind, client, make_user):
    get_template(TYPES[kind].template)
    client.force_login(make_user(MARKETER))
    segment = Segment.objects.create(name="Sample", rule=rule(SAMPLES[kind]))
    html = client.get(reverse("segments:edit", args=[segment.pk])).content.decode()
    assert f'class="b-cond b-{kind}"' in html
    for name in builder_fields.rule_to_fields(rule(SAMPLES[kind])):
        if name.startswith("root.children[0].") and not name.endswith(".type"):
            assert f'name="{name}"' in html
