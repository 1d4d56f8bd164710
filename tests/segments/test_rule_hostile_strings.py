"""Hostile strings in every string slot of the segment grammar are only ever data: they
validate cleanly or are refused cleanly, never run, and match exactly what an innocent
string would."""

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
