"""Bad rules get a clear message at the field they are about (grammar, services and the
API's 400), and hostile strings in every string slot of the grammar are only ever data:
they validate cleanly or are refused cleanly, never run, and match exactly what an
innocent string would."""

import copy
import json

import pytest
from django.db import connection

from cdp_site.permissions import MARKETER
from profiles.models import Profile, ProfileEvent
from segments import compiler, grammar, membership, services
from segments.models import Membership, Segment

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


# --- hostile strings ------------------------------------------------------------------

HOSTILE = [
    "x'); DROP TABLE profiles_profile; --",
    '"',
    "'",
    "\\",
    "%s",
    "%(x)s",
    "%",
    "_",
    "' OR 1=1 --",
    '" OR ""="',
    "$1",
    "?",
    "ünïcødé ☃ 𝔘𝔫𝔦 ‮ right-to-left",
    "a\nb\tc",
    "\x00",
    "\ud800",
    "{}",
    '{"a": 1}',
    "0",
    "-1",
    "2026-01-01'; --",
]
INNOCENT = "zz-nothing-matches-this"


def slots() -> dict[str, dict]:
    """A valid rule per string slot; the slot holds the marker ``SLOT``."""
    prop = {"property": "category", "op": "equals", "value": "Jackets"}
    return {
        "trait key": rule({"type": "trait", "key": "SLOT", "op": "equals", "value": "x"}),
        "trait key is_set": rule({"type": "trait", "key": "SLOT", "op": "is_set"}),
        "trait key not_set": rule({"type": "trait", "key": "SLOT", "op": "is_not_set"}),
        "trait key number": rule({"type": "trait", "key": "SLOT", "op": "gt", "value": 1}),
        "trait key date": rule(
            {"type": "trait", "key": "SLOT", "op": "within_last_days", "value": 3}
        ),
        "trait key boolean": rule({"type": "trait", "key": "SLOT", "op": "is_true"}),
        "trait equals": rule({"type": "trait", "key": "country", "op": "equals", "value": "SLOT"}),
        "trait not_equals": rule(
            {"type": "trait", "key": "country", "op": "not_equals", "value": "SLOT"}
        ),
        "trait contains": rule(
            {"type": "trait", "key": "country", "op": "contains", "value": "SLOT"}
        ),
        "trait starts_with": rule(
            {"type": "trait", "key": "country", "op": "starts_with", "value": "SLOT"}
        ),
        "trait in": rule({"type": "trait", "key": "country", "op": "in", "values": ["SLOT"]}),
        "trait number value": rule({"type": "trait", "key": "age", "op": "eq", "value": "SLOT"}),
        "trait date": rule({"type": "trait", "key": "seen", "op": "before", "value": "SLOT"}),
        "trait op": rule({"type": "trait", "key": "country", "op": "SLOT", "value": "x"}),
        "computed key": rule({"type": "computed", "key": "SLOT", "op": "equals", "value": "1"}),
        "computed value": rule({"type": "computed", "key": "n", "op": "contains", "value": "SLOT"}),
        "event name": rule({"type": "event", "name": "SLOT"}),
        "event not done": rule({"type": "event", "name": "SLOT", "did": False}),
        "event name counted": rule(
            {"type": "event", "name": "SLOT", "count": {"op": "at_most", "value": 2}}
        ),
        "property name": rule(
            {"type": "event", "name": "Product Viewed", "where": [{**prop, "property": "SLOT"}]}
        ),
        "property name number": rule(
            {
                "type": "event",
                "name": "Product Viewed",
                "where": [{"property": "SLOT", "op": "between", "values": [1, 2]}],
            }
        ),
        "property value": rule(
            {"type": "event", "name": "Product Viewed", "where": [{**prop, "value": "SLOT"}]}
        ),
        "property not_equals": rule(
            {
                "type": "event",
                "name": "Product Viewed",
                "did": False,
                "where": [{**prop, "op": "not_equals", "value": "SLOT"}],
            }
        ),
        "property in": rule(
            {
                "type": "event",
                "name": "Product Viewed",
                "where": [{"property": "category", "op": "in", "values": ["SLOT", "SLOT"]}],
            }
        ),
        "property starts_with": rule(
            {
                "type": "event",
                "name": "Product Viewed",
                "count": {"op": "at_least", "value": 2},
                "where": [{**prop, "op": "starts_with", "value": "SLOT"}],
            }
        ),
        "sequence names": rule(
            {
                "type": "sequence",
                "first": {"name": "SLOT"},
                "then": {"name": "SLOT", "where": [{**prop, "property": "SLOT"}]},
                "within_days": 3,
            }
        ),
        "window from": rule(
            {"type": "event", "name": "x", "window": {"from": "SLOT", "to": "2026-01-01"}}
        ),
        "window to": rule(
            {"type": "event", "name": "x", "window": {"from": "2026-01-01", "to": "SLOT"}}
        ),
        "consent purpose": rule({"type": "consent", "purpose": "SLOT"}),
        "consent status": rule({"type": "consent", "purpose": "analytics", "status": "SLOT"}),
        "identifier kind": rule({"type": "identifier", "kind": "SLOT"}),
        "stage": rule({"type": "stage", "in": ["SLOT"]}),
        "party": rule({"type": "party", "party": "SLOT"}),
        "segment id": rule({"type": "segment", "segment_id": "SLOT"}),
        "source id": rule({"type": "source", "source_id": "SLOT"}),
        "count op": rule({"type": "event", "name": "x", "count": {"op": "SLOT", "value": 1}}),
        "group match": rule(
            {"type": "group", "match": "SLOT", "children": [{"type": "stage", "in": ["retention"]}]}
        ),
        "condition type": rule({"type": "SLOT"}),
        "field name": rule({"type": "stage", "in": ["retention"], "SLOT": 1}),
        "version": {"version": "SLOT", "root": rule({"type": "stage", "in": ["lapsed"]})["root"]},
    }


def fill(node, text):
    if isinstance(node, dict):
        return {fill(k, text): fill(v, text) for k, v in node.items()}
    if isinstance(node, list):
        return [fill(v, text) for v in node]
    return text if node == "SLOT" else node


@pytest.fixture
def world(web, send):
    """Profiles with traits, events with properties and a computed-free baseline."""
    for user, country in [("nl", "NL"), ("be", "BE"), ("none", None)]:
        traits = {"age": 40, "seen": "2026-01-05", "x": "x"}
        if country:
            traits["country"] = country
        send(web, message("identify", userId=user, traits=traits))
        send(
            web,
            message(
                userId=user, event="Product Viewed", properties={"category": "Jackets", "price": 10}
            ),
        )


def _tables_intact() -> None:
    with connection.cursor() as cursor:
        for table in ("profiles_profile", "profiles_identity", "segments_membership"):
            cursor.execute("SELECT to_regclass(%s)", [table])
            assert cursor.fetchone()[0] is not None, table


def _result(the_rule) -> set[int] | tuple:
    """The matched profile ids, or ("refused", errors) for a clean validation error."""
    try:
        services.check_rule(the_rule)
    except services.SegmentError as error:
        for e in error.errors:
            assert isinstance(e["field"], str) and isinstance(e["message"], str) and e["message"]
        return ("refused", tuple(sorted(e["field"] for e in error.errors)))
    queryset = compiler.queryset(the_rule)
    found = set(queryset.values_list("pk", flat=True))
    assert queryset.count() == len(found)
    return found


@pytest.mark.parametrize("slot", list(slots()))
def test_hostile_strings_in_every_slot_are_only_data(world, slot):
    profiles, events = Profile.objects.count(), ProfileEvent.objects.count()
    template = slots()[slot]
    baseline = _result(fill(template, INNOCENT))
    for text in HOSTILE:
        hostile = fill(template, text)
        outcome = _result(hostile)
        if isinstance(outcome, tuple):
            # Refused: for the same reason an innocent string is, or for the string itself.
            assert outcome == baseline or outcome[0] == "refused", (text, outcome)
        else:
            # Accepted: matches exactly what a string nobody has matches.
            assert outcome == baseline, (slot, text, outcome, baseline)
            segment = Segment.objects.create(name=f"{slot} {text!r}"[:120], rule=hostile)
            membership.recompute(segment)
            members = set(
                Membership.objects.filter(segment=segment).values_list("profile_id", flat=True)
            )
            assert members == outcome
        _tables_intact()
    assert (Profile.objects.count(), ProfileEvent.objects.count()) == (profiles, events)


def test_hostile_strings_through_the_count_api_are_200_or_a_clean_400(world, client_as):
    api = client_as(MARKETER)
    for slot, template in slots().items():
        for text in HOSTILE:
            body = json.dumps({"rule": fill(template, text)})
            answer = api.post("/api/v1/segments/count/", body, content_type=JSON)
            assert answer.status_code in (200, 400), (slot, text, answer.content)
            if answer.status_code == 400:
                assert answer.json()["error"]["fields"], (slot, text)
    _tables_intact()


def test_hostile_strings_stored_as_data_are_matched_exactly(web, send):
    """A trait value, a trait key and a property name full of SQL match only their owner."""
    evil = "x'); DROP TABLE profiles_profile; --"
    quoted = 'it\'s "quoted" \\ %s %(x)s'
    send(web, message("identify", userId="evil", traits={"motto": evil, quoted: "yes"}))
    send(web, message(userId="evil", event=evil, properties={quoted: evil}))
    send(web, message("identify", userId="plain", traits={"motto": "hello"}))
    evil_id = Profile.objects.get(identities__value="evil").pk
    checks = [
        rule({"type": "trait", "key": "motto", "op": "equals", "value": evil}),
        rule({"type": "trait", "key": "motto", "op": "contains", "value": "'); DROP"}),
        rule({"type": "trait", "key": "motto", "op": "in", "values": [evil.upper()]}),
        rule({"type": "trait", "key": quoted, "op": "equals", "value": "YES"}),
        rule({"type": "trait", "key": quoted, "op": "is_set"}),
        rule(
            {
                "type": "event",
                "name": evil,
                "where": [{"property": quoted, "op": "starts_with", "value": "x'"}],
            }
        ),
    ]
    for the_rule in checks:
        services.check_rule(the_rule)
        assert set(compiler.queryset(the_rule).values_list("pk", flat=True)) == {evil_id}
    wildcard = rule({"type": "trait", "key": "motto", "op": "contains", "value": "%"})
    assert not compiler.queryset(wildcard).exists()
    _tables_intact()


def test_templates_cover_every_condition_type():
    seen = set()
    for template in slots().values():
        stack = [copy.deepcopy(template["root"])]
        while stack:
            node = stack.pop()
            seen.add(node.get("type"))
            stack.extend(c for c in node.get("children", []) if isinstance(c, dict))
    assert set(grammar.FIELDS) <= seen


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
