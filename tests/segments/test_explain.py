"""Why a person is (or is not) in a segment: the rule as a tree, each condition met or
not, with what the profile actually has; and the rule in plain words."""

import pytest

from segments import explain, membership, services

from .conftest import EXAMPLE, pid, rule

pytestmark = pytest.mark.django_db


def marks(node) -> list:
    """The tree as nested (passed, text) pairs."""
    if node.is_group:
        return [(node.passed, node.text), [marks(c) for c in node.children]]
    return (node.passed, node.text)


def test_the_rule_reads_as_plain_words():
    assert explain.describe(EXAMPLE) == (
        "country is NL · Product Viewed at least 3 times in the last 14 days · "
        "did not Order Completed in the last 14 days"
    )
    nested = rule(
        {"type": "stage", "in": ["retention", "lapsed"]},
        {
            "type": "group",
            "match": "any",
            "children": [
                {"type": "trait", "key": "age", "op": "between", "values": [18, 30]},
                {"type": "consent", "purpose": "email", "status": "granted"},
            ],
        },
        {"type": "group", "match": "none", "children": [{"type": "identifier", "kind": "phone"}]},
    )
    text = explain.describe(nested)
    assert text.startswith("stage is Retention") and "or Lapsed" in text
    assert "any of (age is between 18 and 30; consent for email is granted)" in text
    assert "none of (has a phone identifier)" in text
    assert explain.describe({}) == ""


def test_a_member_meets_every_condition_with_what_they_have(shoppers):
    result = explain.explain(rule=EXAMPLE, profile_id=pid("nl-3"))
    assert result.matches is True and result.root.passed is True
    country, views, orders = result.root.children
    assert (country.passed, views.passed, orders.passed) == (True, True, True)
    assert country.detail == "Their country: “NL”."
    assert "3 times in the last 14 days" in views.detail
    assert "never in the last 14 days" in orders.detail
    assert result.root.detail == "3 of 3 met"


def test_a_non_member_sees_which_condition_fails(shoppers):
    ordered = explain.explain(rule=EXAMPLE, profile_id=pid("nl-order"))
    assert ordered.matches is False and ordered.root.passed is False
    assert [c.passed for c in ordered.root.children] == [True, True, False]
    assert "Order Completed: once in the last 14 days" in ordered.root.children[2].detail

    belgian = explain.explain(rule=EXAMPLE, profile_id=pid("be-3"))
    assert [c.passed for c in belgian.root.children] == [False, True, True]
    assert belgian.root.children[0].detail == "Their country: “BE”."

    one_view = explain.explain(rule=EXAMPLE, profile_id=pid("nl-1"))
    assert [c.passed for c in one_view.root.children] == [True, False, True]
    assert "Product Viewed: once" in one_view.root.children[1].detail


def test_groups_combine_their_children_by_their_match(shoppers):
    the_rule = rule(
        {
            "type": "group",
            "match": "any",
            "children": [
                {"type": "trait", "key": "country", "op": "equals", "value": "BE"},
                {"type": "event", "name": "Order Completed"},
            ],
        },
        {
            "type": "group",
            "match": "none",
            "children": [
                {"type": "trait", "key": "missing", "op": "is_set"},
            ],
        },
    )
    result = explain.explain(rule=the_rule, profile_id=pid("nl-order"))
    any_group, none_group = result.root.children
    assert marks(any_group) == [
        (True, "any of"),
        [(False, "country is BE"), (True, "did Order Completed")],
    ]
    assert none_group.passed is True and none_group.children[0].passed is False
    assert none_group.children[0].detail == "Their missing: not set."
    assert result.matches is True and result.root.passed is True
    nobody = explain.explain(rule=the_rule, profile_id=pid("nl-3"))
    assert nobody.root.passed is False and nobody.matches is False


def test_explaining_agrees_with_the_materialised_membership(shoppers):
    segment = services.create_segment(name="NL browsers", rule=EXAMPLE)
    membership.recompute(segment)
    for user in ("nl-3", "nl-1", "nl-order", "be-3"):
        member = segment.memberships.filter(profile_id=pid(user)).exists()
        assert explain.explain(rule=segment.rule, profile_id=pid(user)).matches is member


def test_segment_stage_and_identifier_conditions_say_what_the_profile_has(shoppers):
    base = services.create_segment(
        name="Dutch", rule=rule({"type": "trait", "key": "country", "op": "equals", "value": "NL"})
    )
    membership.recompute(base)
    the_rule = rule(
        {"type": "segment", "segment_id": base.pk},
        {"type": "stage", "in": ["retention"]},
        {"type": "identifier", "kind": "user_id"},
    )
    result = explain.explain(rule=the_rule, profile_id=pid("nl-3"))
    in_base, stage, ident = result.root.children
    assert in_base.passed and in_base.text == "is in segment “Dutch”"
    assert in_base.detail.startswith("Member since")
    assert stage.passed is False and stage.detail.startswith("Their stage:")
    assert ident.passed and ident.detail == "1 user_id identifier."
    outside = explain.explain(rule=the_rule, profile_id=pid("be-3"))
    assert outside.root.children[0].passed is False
    assert outside.root.children[0].detail == "Not a member."


def test_an_unknown_profile_or_an_uploaded_list_has_no_tree(db):
    assert explain.explain(rule=EXAMPLE, profile_id=999_999).profile_found is False
