"""Bad rules get a clear message at the field they are about (grammar, services and the
API's 400); hostile strings in every slot are in test_rule_hostile_strings.py."""

import json

import pytest

from cdp_site.permissions import MARKETER
from profiles.models import Profile
from segments import compiler, grammar, services

from .conftest import message, rule

pytestmark = pytest.mark.django_db
JSON = "application/json"


def errors_of(the_rule, **kwargs) -> dict[str, str]:
    with pytest.raises(services.SegmentError) as caught:
        services.check_rule(the_rule, **kwargs)
    return {e["field"]: e["message"] for e in caught.value.errors}


def api_fields(api, the_rule) -> dict:
    answer = api.post("/api/v1/segments/", {"name": "Bad", "rule": the_rule}, content_type=JSON)
    assert answer.status_code == 400, answer.content
    return answer.json()["error"]["fields"]


TRAIT = {"type": "trait", "key": "country", "op": "equals", "value": "NL"}


@pytest.mark.parametrize(
    "the_rule, field, words",
    [
        # unknown fields
        ({**rule(TRAIT), "colour": "red"}, "colour", "not part of a rule"),
        (rule({**TRAIT, "colour": "red"}), "root.children[0].colour", "not part of a trait"),
        (
            rule(
                {
                    "type": "event",
                    "name": "x",
                    "where": [{"property": "p", "op": "is_set", "extra": 1}],
                }
            ),
            "root.children[0].where[0].extra",
            "not part of a property filter",
        ),
        (
            rule(
                {
                    "type": "sequence",
                    "first": {"name": "a", "when": 1},
                    "then": {"name": "b"},
                    "within_days": 1,
                }
            ),
            "root.children[0].first.when",
            "not part of a step",
        ),
        (rule({"type": "colour"}), "root.children[0].type", "Choose what this condition"),
        ({"version": 2, "root": rule(TRAIT)["root"]}, "version", "version 1"),
        # wrong value types
        (
            rule({"type": "trait", "key": "age", "op": "gt", "value": "40"}),
            "root.children[0].value",
            "Enter a number.",
        ),
        (
            rule({"type": "trait", "key": "age", "op": "gt", "value": True}),
            "root.children[0].value",
            "Enter a number.",
        ),
        (
            rule({"type": "trait", "key": "age", "op": "between", "values": [50, 10]}),
            "root.children[0].values",
            "lower one first",
        ),
        (
            rule({"type": "trait", "key": 7, "op": "is_set"}),
            "root.children[0].key",
            "Enter a trait",
        ),
        (
            rule({"type": "trait", "key": "   ", "op": "is_set"}),
            "root.children[0].key",
            "Enter a trait",
        ),
        (
            rule({"type": "trait", "key": "k" * 201, "op": "is_set"}),
            "root.children[0].key",
            "longer than 200",
        ),
        (
            rule({"type": "trait", "key": "seen", "op": "after", "value": "yesterday"}),
            "root.children[0].value",
            "YYYY-MM-DD",
        ),
        (
            rule({"type": "trait", "key": "seen", "op": "within_last_days", "value": 0}),
            "root.children[0].value",
            "whole number from 1",
        ),
        (
            rule({"type": "trait", "key": "c", "op": "in", "values": "NL"}),
            "root.children[0].values",
            "between 1 and 500",
        ),
        (
            rule({"type": "trait", "key": "c", "op": "in", "values": ["NL", 3]}),
            "root.children[0].values[1]",
            "Enter a value",
        ),
        (
            rule({"type": "event", "name": "x", "count": {"op": "at_least", "value": "3"}}),
            "root.children[0].count.value",
            "whole number",
        ),
        (
            rule({"type": "event", "name": "x", "count": {"op": "more", "value": 3}}),
            "root.children[0].count.op",
            "at least, at most or exactly",
        ),
        (rule({"type": "event", "name": "x", "did": "yes"}), "root.children[0].did", "did or"),
        (
            rule({"type": "event", "name": "x", "window": {"last_days": "7"}}),
            "root.children[0].window.last_days",
            "whole number",
        ),
        (
            rule(
                {"type": "event", "name": "x", "window": {"from": "2026-02-01", "to": "2026-01-01"}}
            ),
            "root.children[0].window",
            "starts after it ends",
        ),
        (
            rule({"type": "event", "name": "x", "where": {"property": "p"}}),
            "root.children[0].where",
            "a list",
        ),
        (rule({"type": "stage", "in": "retention"}), "root.children[0].in", "journey stages"),
        (
            rule({"type": "segment", "segment_id": "1"}),
            "root.children[0].segment_id",
            "whole number",
        ),
        (
            rule({"type": "consent", "purpose": "email_marketing", "status": "yes"}),
            "root.children[0].status",
            "granted, denied",
        ),
        (rule({"type": "party", "party": "fourth"}), "root.children[0].party", "first, second"),
        (rule({"type": "source", "source_id": -1}), "root.children[0].source_id", "whole number"),
        ([TRAIT], "rule", "JSON object"),
        ({"version": 1, "root": TRAIT}, "root", "starts with a group"),
        # empty groups
        (rule(), "root.children", "at least one condition"),
        (
            rule(TRAIT, {"type": "group", "match": "any", "children": []}),
            "root.children[1].children",
            "at least one condition",
        ),
        (
            rule({"type": "group", "match": "some", "children": [TRAIT]}),
            "root.children[0].match",
            "all, any or none",
        ),
        # a segment that does not exist
        (
            rule({"type": "segment", "segment_id": 999999}),
            "root.children[0].segment_id",
            "does not exist",
        ),
    ],
)
def test_each_bad_rule_gets_a_clear_message_at_its_field(client_as, the_rule, field, words):
    found = errors_of(the_rule)
    assert field in found and words in found[field], found
    fields = api_fields(client_as(MARKETER), the_rule)
    api_field = field if field == "rule" else f"rule.{field}"
    assert words in " ".join(fields[api_field]), fields


def nested(depth: int) -> dict:
    node = TRAIT
    for _ in range(depth - 1):
        node = {"type": "group", "match": "all", "children": [node]}
    return {"version": 1, "root": {"type": "group", "match": "all", "children": [node]}}


def test_a_rule_50_levels_deep_is_refused_at_the_first_level_too_deep(client_as):
    found = errors_of(nested(50))
    path = "root" + ".children[0]" * grammar.MAX_DEPTH
    assert found == {path: f"Groups nest at most {grammar.MAX_DEPTH} levels deep."}
    assert api_fields(client_as(MARKETER), nested(50)) == {f"rule.{path}": [found[path]]}
    services.check_rule(nested(grammar.MAX_DEPTH - 1))  # the deepest allowed is fine


def test_a_rule_nested_deeper_than_json_can_parse_is_a_clean_400(client_as):
    body = '{"name": "Deep", "rule": ' + '{"a": [' * 5000 + "1" + "]}" * 5000 + "}"
    answer = client_as(MARKETER).post("/api/v1/segments/", body, content_type=JSON)
    assert answer.status_code == 400, answer.content
    assert set(answer.json()) == {"error"}


def test_too_many_conditions_are_refused_once():
    wide = rule(*[TRAIT] * (grammar.MAX_NODES + 50))
    found = errors_of(wide)
    assert list(found.values()) == [
        f"A segment has at most {grammar.MAX_NODES} conditions and groups."
    ]


def test_a_segment_that_would_contain_itself_through_others_is_refused(client_as):
    base = services.create_segment(name="Base", rule=rule(TRAIT))
    middle = services.create_segment(
        name="Middle", rule=rule({"type": "segment", "segment_id": base.pk})
    )
    top = services.create_segment(
        name="Top", rule=rule({"type": "segment", "segment_id": middle.pk, "member": False})
    )
    loop = rule(TRAIT, {"type": "segment", "segment_id": top.pk}, match="any")
    found = errors_of(loop, segment_id=base.pk)
    assert found == {
        "root.children[1].segment_id": "This segment would contain itself "
        "through the segments it refers to."
    }
    itself = errors_of(rule({"type": "segment", "segment_id": base.pk}), segment_id=base.pk)
    assert "contain itself" in itself["root.children[0].segment_id"]
    with pytest.raises(services.SegmentError):
        services.update_segment(segment=base, name="Base", rule=loop)
    base.refresh_from_db()
    assert base.rule == rule(TRAIT)
    answer = client_as(MARKETER).patch(
        f"/api/v1/segments/{base.pk}/", {"rule": loop}, content_type=JSON
    )
    assert answer.status_code == 400
    fields = answer.json()["error"]["fields"]
    assert "contain itself" in fields["rule.root.children[1].segment_id"][0]


@pytest.mark.parametrize("bad_text", ["Order\x00Completed", "Order \ud800"])
def test_nul_and_lone_surrogates_are_refused_at_their_field_not_a_500(client_as, bad_text):
    """Found by the hostile-strings test: PostgreSQL text cannot hold NUL (a DataError)
    and a lone surrogate cannot be encoded (UnicodeEncodeError): both were 500s."""
    bad = rule({"type": "event", "name": bad_text})
    message = "An event name contains a character that cannot be stored."
    assert errors_of(bad) == {"root.children[0].name": message}
    answer = client_as(MARKETER).post(
        "/api/v1/segments/count/", json.dumps({"rule": bad}), content_type=JSON
    )
    assert answer.json()["error"]["fields"] == {"rule.root.children[0].name": [message]}


def test_boolean_traits_compile_and_match_only_json_booleans(web, send):
    """Found by the hostile-strings test: is_true/is_false compared jsonb with a bare
    boolean parameter (``jsonb = boolean`` does not exist) and failed on every call."""
    send(web, message("identify", userId="yes", traits={"vip": True}))
    send(web, message("identify", userId="no", traits={"vip": False}))
    send(web, message("identify", userId="text", traits={"other": 1}))
    # The text "true" (the pipeline would type it like the key's other values: set it here).
    Profile.objects.filter(identities__value="text").update(traits={"vip": "true"})

    def who(op):
        the_rule = rule({"type": "trait", "key": "vip", "op": op})
        services.check_rule(the_rule)
        found = compiler.queryset(the_rule).values_list("identities__value", flat=True)
        return set(found)

    assert who("is_true") == {"yes"} and who("is_false") == {"no"}
