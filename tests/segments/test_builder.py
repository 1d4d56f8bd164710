"""The visual builder: form fields ⇄ rule, inline errors, the live estimate, pickers, roles."""

import re

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from segments import catalog, compiler, services
from segments.builder import fields as builder_fields
from segments.builder import tree as builder_tree
from segments.models import Segment

from .conftest import EXAMPLE, pid, rule

pytestmark = pytest.mark.django_db


EVERY_CONDITION = rule(
    {"type": "trait", "key": "country", "op": "equals", "value": "NL"},
    {"type": "trait", "key": "country", "op": "in", "values": ["NL", "BE"]},
    {"type": "trait", "key": "age", "op": "between", "values": [18, 65.5]},
    {"type": "trait", "key": "vip", "op": "is_true"},
    {"type": "trait", "key": "email", "op": "is_set"},
    {"type": "trait", "key": "birthday", "op": "before", "value": "2000-01-01"},
    {"type": "computed", "key": "orders_90d", "op": "gt", "value": 2},
    {"type": "computed", "key": "last_order", "op": "within_last_days", "value": 30},
    {
        "type": "event",
        "name": "Product Viewed",
        "count": {"op": "at_least", "value": 3},
        "window": {"last_days": 14},
        "where": [
            {"property": "category", "op": "starts_with", "value": "Jack"},
            {"property": "price", "op": "lt", "value": 200.5},
        ],
    },
    {
        "type": "event",
        "name": "Order Completed",
        "did": False,
        "window": {"from": "2026-01-01", "to": "2026-02-01"},
    },
    {
        "type": "sequence",
        "first": {"name": "Cart Viewed", "where": [{"property": "items", "op": "gt", "value": 0}]},
        "then": {"name": "Order Completed"},
        "within_days": 2,
        "window": {"last_days": 30},
    },
    {
        "type": "group",
        "match": "none",
        "children": [
            {"type": "stage", "in": ["acquisition", "retention"]},
            {"type": "segment", "segment_id": 7, "member": False},
            {
                "type": "group",
                "match": "any",
                "children": [
                    {"type": "consent", "purpose": "marketing", "status": "granted"},
                    {"type": "identifier", "kind": "email"},
                    {"type": "source", "source_id": 3},
                    {"type": "party", "party": "second"},
                ],
            },
        ],
    },
    match="any",
)


def as_post(fields: dict) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in fields.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def test_a_rule_with_every_condition_type_round_trips_through_the_form_fields():
    fields = builder_fields.rule_to_fields(EVERY_CONDITION)
    assert fields["root.children[8].count.value"] == "3"
    assert fields["root.children[11].children[2].children[0].purpose"] == "marketing"
    assert builder_fields.fields_to_rule(as_post(fields)) == EVERY_CONDITION
    assert builder_fields.fields_to_rule(fields) == EVERY_CONDITION  # a plain dict reads the same


def test_children_follow_their_index_order_and_a_removed_one_leaves_no_hole():
    fields = builder_fields.rule_to_fields(
        rule(
            {"type": "trait", "key": "a", "op": "is_set"},
            {"type": "trait", "key": "b", "op": "is_set"},
            {"type": "trait", "key": "c", "op": "is_set"},
        )
    )
    fields = {k: v for k, v in fields.items() if not k.startswith("root.children[1].")}
    fields["root.children[10].type"], fields["root.children[10].key"] = "trait", "d"
    fields["root.children[10].op"] = "is_set"
    keys = [c["key"] for c in builder_fields.fields_to_rule(fields)["root"]["children"]]
    assert keys == ["a", "c", "d"]


def test_what_was_typed_is_kept_when_it_does_not_parse():
    fields = builder_fields.rule_to_fields(
        rule({"type": "event", "name": "Product Viewed", "count": {"op": "at_least", "value": 3}})
    )
    fields["root.children[0].count.value"] = "three"
    parsed = builder_fields.fields_to_rule(fields)
    assert parsed["root"]["children"][0]["count"] == {"op": "at_least", "value": "three"}
    with pytest.raises(services.SegmentError) as error:
        services.check_rule(parsed)
    assert error.value.errors[0]["field"] == "root.children[0].count.value"


def test_actions_add_and_remove_conditions_groups_and_filters():
    the_rule = rule({"type": "event", "name": "Product Viewed"})
    assert builder_fields.apply_action(the_rule, "add:root", add_type="stage") == "root.children[1]"
    assert builder_fields.apply_action(the_rule, "add-group:root") == "root.children[2]"
    assert builder_fields.apply_action(the_rule, "add-filter:root.children[0]") == (
        "root.children[0].where[0]"
    )
    children = the_rule["root"]["children"]
    assert [c["type"] for c in children] == ["event", "stage", "group"]
    assert children[0]["where"] == [{"property": "", "op": "equals", "value": ""}]
    assert builder_fields.apply_action(the_rule, "remove:root.children[0].where[0]") == (
        "root.children[0]"
    )
    assert "where" not in children[0]
    assert builder_fields.apply_action(the_rule, "remove:root.children[1]") == "root"
    assert [c["type"] for c in children] == ["event", "group"]
    assert builder_fields.apply_action(the_rule, "remove:root") is None
    assert builder_fields.apply_action(the_rule, "remove:root.children[9]") is None


def test_grammar_errors_are_placed_next_to_their_inputs():
    the_rule = rule(
        {
            "type": "event",
            "name": "",
            "count": {"op": "at_least", "value": 0},
            "where": [{"property": "price", "op": "between", "values": [5, 1]}],
        },
        {"type": "trait", "key": "country", "op": "in", "values": []},
        {"type": "group", "match": "all", "children": []},
    )
    with pytest.raises(services.SegmentError) as error:
        services.check_rule(the_rule)
    tree = builder_tree.Tree.of(the_rule, error.value.errors)
    assert set(tree.at) == {
        "root.children[0].name",
        "root.children[0].count.value",
        "root.children[0].where[0].value",
        "root.children[1].value",
        "root.children[2]",
    }
    assert tree.general == []


@pytest.fixture
def marketer(client, make_user):
    client.force_login(make_user(MARKETER))
    return client


def _fields(the_rule, **extra):
    return {**builder_fields.rule_to_fields(the_rule), **extra}


def test_a_post_with_errors_shows_each_message_next_to_its_field(marketer):
    the_rule = rule(
        {"type": "trait", "key": "country", "op": "equals", "value": "NL"},
        {
            "type": "event",
            "name": "Product Viewed",
            "count": {"op": "at_least", "value": 0},
            "window": {"last_days": 14},
        },
    )
    response = marketer.post(reverse("segments:new"), _fields(the_rule, name="Dutch browsers"))
    assert response.status_code == 400
    html = response.content.decode()
    field_id = builder_tree.dom_id("root.children[1].count.value")
    assert re.search(
        rf'id="{field_id}"[^>]*aria-invalid="true" aria-describedby="{field_id}-error"', html
    )
    error = re.search(rf'<p class="error b-error" id="{field_id}-error">([^<]*)</p>', html)
    assert error and "The count must be a whole number from 1" in error.group(1)
    assert "Not saved: 1 problem to fix" in html
    assert 'value="Dutch browsers"' in html  # what was typed stays
    assert not Segment.objects.exists()


def test_a_post_without_a_name_keeps_the_rule_and_asks_for_the_name(marketer):
    the_rule = rule({"type": "trait", "key": "country", "op": "equals", "value": "NL"})
    response = marketer.post(
        reverse("segments:new"), _fields(the_rule, name=""), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200  # htmx swaps it in
    html = response.content.decode()
    assert "This field is required." in html and 'value="NL"' in html
    assert "<html" not in html  # only the builder's body


def test_saving_creates_the_segment_and_goes_to_its_page(marketer, make_user):
    the_rule = rule({"type": "trait", "key": "country", "op": "equals", "value": "NL"})
    response = marketer.post(
        reverse("segments:new"), _fields(the_rule, name=" Dutch ", description="NL people")
    )
    segment = Segment.objects.get()
    assert (segment.name, segment.description, segment.rule) == ("Dutch", "NL people", the_rule)
    assert response.status_code == 302
    assert response["Location"] in (
        f"/segments/{segment.pk}/",
        reverse("segments:edit", args=[segment.pk]),
    )
    htmx = marketer.post(
        reverse("segments:edit", args=[segment.pk]),
        _fields(rule({"type": "stage", "in": ["retention"]}), name="Loyal"),
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 204 and htmx["HX-Redirect"] == response["Location"]
    segment.refresh_from_db()
    assert segment.name == "Loyal" and segment.rule["root"]["children"][0]["type"] == "stage"


def test_the_edit_page_shows_the_saved_rule(marketer):
    segment = Segment.objects.create(name="Dutch", rule=EVERY_CONDITION)
    html = marketer.get(reverse("segments:edit", args=[segment.pk])).content.decode()
    assert 'name="root.children[8].window.last_days" value="14"' in html
    assert 'name="root.children[8].where[1].value" value="200.5"' in html
    assert 'name="root.children[1].value" value="NL, BE"' in html


def test_buttons_add_a_condition_and_re_render_the_tree(marketer):
    the_rule = rule({"type": "trait", "key": "country", "op": "equals", "value": "NL"})
    response = marketer.post(
        reverse("segments:new"),
        _fields(the_rule, name="x", **{"_action": "add:root", "root._add": "event"}),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and response["HX-Trigger"] == "rule-changed"
    html = response.content.decode()
    assert 'name="root.children[1].type" value="event"' in html
    assert re.search(r'id="b-root-children-1-did"[^>]*data-focus', html)  # focus on the new one
    assert "Enter an event name" not in html  # no errors until saved


def test_the_estimate_counts_the_matching_profiles_and_shows_a_sample(marketer, shoppers):
    response = marketer.post(reverse("segments:estimate"), _fields(EXAMPLE))
    html = response.content.decode()
    assert 'data-count="1"' in html
    assert f'href="/profiles/{pid("nl-3")}/"' in html
    assert compiler.queryset(EXAMPLE).count() == 1
    dutch = _fields(rule({"type": "trait", "key": "country", "op": "equals", "value": "nl"}))
    html = marketer.post(reverse("segments:estimate"), dutch).content.decode()
    assert 'data-count="3"' in html and html.count('href="/profiles/') == 3
    broken = _fields(rule({"type": "event", "name": ""}))
    html = marketer.post(reverse("segments:estimate"), broken).content.decode()
    assert "Enter an event name." in html and "data-count" not in html


def test_pickers_offer_what_the_data_holds(shoppers):
    assert catalog.event_names() == ["Order Completed", "Product Viewed"]
    keys = {k["key"]: k for k in catalog.property_keys("Product Viewed")}
    assert keys["category"]["type"] == "text" and keys["category"]["example"] == "Jackets"
    assert keys["price"]["type"] == "number"
    traits = {t["key"]: t for t in catalog.trait_keys()}
    assert traits["country"]["type"] == "text" and traits["age"]["type"] == "number"
    assert ("email", "E-mail") in catalog.identifier_kinds() or catalog.identifier_kinds()
    assert [s["name"] for s in catalog.sources()] == ["Webshop"]


def test_the_builder_lists_event_names_and_suggests_the_properties_of_the_event(marketer, shoppers):
    html = marketer.get(reverse("segments:new")).content.decode()
    assert '<option value="Order Completed"><option value="Product Viewed">' in html
    assert '<option value="country" label="text · e.g. NL">' in html
    field = "root.children[0].name"
    response = marketer.get(
        reverse("segments:properties"),
        {"field": field, field: "Product Viewed", "list": "b-root-children-0-where-0-props"},
    )
    html = response.content.decode()
    assert html.startswith('<datalist id="b-root-children-0-where-0-props">')
    assert '<option value="category" label="text · e.g. Jackets">' in html
    assert '<option value="price" label="number · e.g. 10' in html


def test_the_list_shows_members_computing_and_errors(client, make_user):
    client.force_login(make_user(MARKETER))
    ok = Segment.objects.create(
        name="Alpha", member_count=42, computed_at=timezone.now(), compute_ms=12
    )
    Segment.objects.create(name="Beta", computing_since=timezone.now())
    Segment.objects.create(
        name="Gamma", compute_error="statement timeout", computed_at=timezone.now()
    )
    html = client.get(reverse("segments:index")).content.decode()
    assert "New segment" in html
    assert ">42<" in html and "in 12 ms" in html
    assert "computing…" in html
    assert "Last computation failed:</strong> statement timeout" in html
    assert f'href="{reverse("segments:edit", args=[ok.pk])}"' in html


@pytest.mark.parametrize(
    "role, list_status, builder_status",
    [(VIEWER, 403, 403), (ACCOUNT_MANAGER, 403, 403), (MARKETER, 200, 200), (ADMIN, 200, 200)],
)
def test_roles(client, make_user, role, list_status, builder_status):
    client.force_login(make_user(role))
    assert client.get(reverse("segments:index")).status_code == list_status
    assert client.get(reverse("segments:new")).status_code == builder_status
    the_rule = rule({"type": "trait", "key": "country", "op": "equals", "value": "NL"})
    saved = client.post(reverse("segments:new"), _fields(the_rule, name="Dutch"))
    estimate = client.post(reverse("segments:estimate"), _fields(the_rule))
    if builder_status == 403:
        assert saved.status_code == 403 and estimate.status_code == 403
        assert not Segment.objects.exists()
    else:
        assert saved.status_code == 302 and estimate.status_code == 200
        assert Segment.objects.filter(name="Dutch").exists()
