"""Editing entry conditions: the journey editor (HTMX) and the REST API, with each problem
at its field."""

import pytest
from django.urls import reverse

from campaigns import entry_conditions
from campaigns.journeys import entry_fields
from campaigns.models import Campaign
from cdp_site.permissions import MARKETER
from segments.models import Segment
from tests.campaigns.test_pages import _post_data

pytestmark = pytest.mark.django_db
JSON = "application/json"
URL = "/api/v1/campaigns/"
STEPS = [{"id": "wait", "type": "wait", "minutes": 60}]
CART = {"name": "Cart", "kind": "event", "trigger_event": "Checkout Started", "steps": STEPS}


@pytest.fixture
def journey(db):
    return Campaign.objects.create(
        name="Cart", kind=Campaign.Kind.EVENT, trigger_event="Checkout Started", steps=STEPS
    )


def test_api_saves_filters_and_audience_and_answers_them(client_as):
    segment = Segment.objects.create(name="VIP", rule={})
    audience = {
        "version": 1,
        "root": {
            "type": "group",
            "match": "all",
            "children": [{"type": "segment", "segment_id": segment.pk}],
        },
    }
    filters = [
        {"property": "cart.total", "op": ">=", "value": 50.5},
        {"property": "coupon", "op": "exists"},
    ]
    api = client_as(MARKETER)
    body = {**CART, "trigger_filters": filters, "entry_audience": audience}
    response = api.post(URL, body, content_type=JSON)
    assert response.status_code == 201, response.content
    saved = response.json()
    assert saved["trigger_filters"] == filters and saved["entry_audience"] == audience
    patched = api.patch(f"{URL}{saved['id']}/", {"trigger_filters": []}, content_type=JSON)
    assert patched.json()["trigger_filters"] == [] and patched.json()["entry_audience"] == audience


def test_api_names_each_bad_filter_and_audience_field(client_as):
    body = {
        **CART,
        "trigger_filters": [
            {"property": "cart.total", "op": "≈", "value": 50},
            {"property": "", "op": ">", "value": "lots"},
            {"property": "x", "op": "=", "value": None, "extra": 1},
        ],
        "entry_audience": {
            "version": 1,
            "root": {
                "type": "group",
                "match": "all",
                "children": [{"type": "segment", "segment_id": 999999}],
            },
        },
    }
    response = client_as(MARKETER).post(URL, body, content_type=JSON)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "Choose how to compare." in str(fields["trigger_filters[0].op"])
    assert "Enter a property." in str(fields["trigger_filters[1].property"])
    assert "Enter a number" in str(fields["trigger_filters[1].value"])
    assert "not part of a filter" in str(fields["trigger_filters[2].extra"])
    assert "Enter a value." in str(fields["trigger_filters[2].value"])
    assert "No segment has the id 999999." in str(fields["entry_audience"])
    assert not Campaign.objects.exists()


def test_api_refuses_filters_on_a_segment_trigger_and_an_audience_on_a_broadcast(client_as):
    segment = Segment.objects.create(name="All", rule={})
    api = client_as(MARKETER)
    body = {**CART, "kind": "segment_entered", "segment": segment.pk}
    body["trigger_filters"] = [{"property": "a", "op": "exists"}]
    fields = api.post(URL, body, content_type=JSON).json()["error"]["fields"]
    assert "for journeys an event starts" in str(fields["trigger_filters"])
    body = {
        **CART,
        "kind": "broadcast",
        "segment": segment.pk,
        "entry_audience": {
            "version": 1,
            "root": {
                "type": "group",
                "match": "all",
                "children": [{"type": "stage", "in": ["retention"]}],
            },
        },
    }
    fields = api.post(URL, body, content_type=JSON).json()["error"]["fields"]
    assert "A broadcast goes to its segment" in str(fields["entry_audience"])


def test_marketer_adds_a_filter_and_an_audience_in_the_editor(client_as, journey):
    segment = Segment.objects.create(name="VIP", rule={})
    client = client_as(MARKETER)
    url = reverse("campaigns:detail", args=[journey.pk])
    page = client.post(
        url, _post_data(journey, journey.steps, _action="add-filter"), HTTP_HX_REQUEST="true"
    )
    html = page.content.decode()
    assert 'name="trigger_filters[0].property"' in html and "<html" not in html
    data = _post_data(
        journey,
        journey.steps,
        _action="save",
        **{
            "trigger_filters[0].property": "cart.total",
            "trigger_filters[0].op": ">",
            "trigger_filters[0].value": "50",
            "trigger_filters[1].property": "express",
            "trigger_filters[1].op": "=",
            "trigger_filters[1].value": "true",
            "entry_audience.mode": "in_segment",
            "entry_audience.segment_id": str(segment.pk),
        },
    )
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 204, response.content.decode()[:3000]
    journey.refresh_from_db()
    assert journey.trigger_filters == [
        {"property": "cart.total", "op": ">", "value": 50},
        {"property": "express", "op": "=", "value": True},
    ]
    assert entry_fields.audience_fields(journey.entry_audience)["segment_id"] == str(segment.pk)
    shown = client.get(url).content.decode()
    assert "cart.total is more than 50" in shown and "is in segment “VIP”" in shown
    assert 'value="cart.total"' in shown


def test_editor_shows_filter_errors_next_to_their_fields_and_saves_nothing(client_as, journey):
    client = client_as(MARKETER)
    url = reverse("campaigns:detail", args=[journey.pk])
    data = _post_data(
        journey,
        journey.steps,
        _action="save",
        **{
            "trigger_filters[0].property": "cart.total",
            "trigger_filters[0].op": "<",
            "trigger_filters[0].value": "cheap",
            "entry_audience.mode": "rule",
            "entry_audience.rule": "{not json",
        },
    )
    html = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="f-trigger-filters-0-value-error" role="alert">Enter a number' in html
    assert 'name="trigger_filters[0].value" value="cheap"' in html
    assert "A rule is a JSON object." in html and "{not json</textarea>" in html
    assert "Not saved: 2 problems in the entry conditions." in html
    journey.refresh_from_db()
    assert journey.trigger_filters == [] and journey.entry_audience == {}


@pytest.mark.parametrize(
    ("item", "properties", "holds"),
    [
        ({"property": "total", "op": ">=", "value": 60}, {"total": 60}, True),
        ({"property": "total", "op": "<", "value": 60}, {"total": "59.99"}, True),
        ({"property": "total", "op": "<", "value": 60}, {"total": "cheap"}, False),
        ({"property": "day", "op": ">", "value": "2026-01-01"}, {"day": "2026-03-01T10:00Z"}, True),
        ({"property": "day", "op": ">", "value": "2026-01-01"}, {"day": "soon"}, False),
        ({"property": "express", "op": "=", "value": True}, {"express": "true"}, True),
        ({"property": "express", "op": "=", "value": True}, {"express": 1}, False),
        ({"property": "country", "op": "!=", "value": "NL"}, {}, True),
        ({"property": "country", "op": "!=", "value": "NL"}, {"country": "NL"}, False),
        ({"property": "name", "op": "contains", "value": "boot"}, {"name": "Hiking Boots"}, True),
        ({"property": "coupon", "op": "exists"}, {"coupon": None}, False),
        ({"property": "items.1.sku", "op": "=", "value": "B"}, {"items": [{}, {"sku": "B"}]}, True),
        ({"property": "a.b", "op": "=", "value": 1}, {"a.b": 1, "a": {"b": 2}}, True),
    ],
)
def test_filters_compare_by_the_type_of_their_value(item, properties, holds):
    assert entry_conditions.matches([item], properties) is holds


def test_a_filter_that_is_not_valid_matches_nothing_rather_than_raising():
    assert entry_conditions.matches([{"property": None, "op": ">"}], {"x": 1}) is False
    assert entry_conditions.matches(["nonsense"], {"x": 1}) is False


def test_the_editor_keeps_nan_as_typed_and_reads_numbers_and_booleans():
    data = {
        "trigger_filters[0].property": "a",
        "trigger_filters[0].op": "=",
        "trigger_filters[0].value": "nan",
        "trigger_filters[1].property": "b",
        "trigger_filters[1].op": ">",
        "trigger_filters[1].value": "12.5",
        "trigger_filters[2].property": "c",
        "trigger_filters[2].op": "exists",
        "trigger_filters[2].value": "ignored",
    }
    assert entry_fields.fields_to_filters(data) == [
        {"property": "a", "op": "=", "value": "nan"},
        {"property": "b", "op": ">", "value": 12.5},
        {"property": "c", "op": "exists"},
    ]
