"""Rules API: identifier kinds, blocked values, the dry run, computed traits, trait keys
and stage rules; admins change them, others read or are refused; one error shape."""

import pytest

from cdp_site.permissions import ADMIN, MARKETER, VIEWER
from profiles import tasks
from profiles.identifiers import load_rules
from profiles.models import BlockedValue, ComputedTrait, IdentifierKind, StageRule, TraitKey

from .conftest import message

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture(autouse=True)
def _rules(db, monkeypatch):
    load_rules()  # the default rules, as after the migration
    monkeypatch.setattr(tasks.backfill_computed_trait, "delay", lambda pk: None)
    monkeypatch.setattr(tasks.refresh_current_trait, "delay", lambda key: None)


@pytest.fixture
def api(client_as):
    return client_as(ADMIN)


def test_identifier_kinds_crud(api):
    created = api.post(
        "/api/v1/identifier-kinds/",
        {
            "name": "partner_member_id",
            "label": "Partner member id",
            "priority": 75,
            "max_per_profile": 1,
            "normalizer": "lower",
            "trait_keys": ["partnerId"],
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["builtin"] is False
    names = [k["name"] for k in api.get("/api/v1/identifier-kinds/").json()["results"]]
    assert "partner_member_id" in names and "email" in names
    patched = api.patch(f"/api/v1/identifier-kinds/{pk}/", {"priority": 20}, content_type=JSON)
    assert patched.status_code == 200 and patched.json()["priority"] == 20
    assert api.delete(f"/api/v1/identifier-kinds/{pk}/").status_code == 204
    assert not IdentifierKind.objects.filter(name="partner_member_id").exists()


def test_a_builtin_kind_cannot_be_deleted_or_renormalised(api):
    email = IdentifierKind.objects.get(name="email")
    refused = api.delete(f"/api/v1/identifier-kinds/{email.pk}/")
    assert refused.status_code == 400
    assert "built-in" in refused.json()["error"]["fields"]["non_field_errors"][0]
    bad = api.patch(
        f"/api/v1/identifier-kinds/{email.pk}/",
        {"normalizer": "text", "max_per_profile": 0},
        content_type=JSON,
    )
    assert bad.status_code == 400
    fields = bad.json()["error"]["fields"]
    assert set(fields) == {"normalizer", "max_per_profile"}


def test_blocked_values_crud(api):
    created = api.post(
        "/api/v1/blocked-values/",
        {"kind": "email", "value": "info@shop.example"},
        content_type=JSON,
    )
    assert created.status_code == 201 and created.json()["kind"] == "email"
    duplicate = api.post(
        "/api/v1/blocked-values/",
        {"kind": "email", "value": "INFO@shop.example"},
        content_type=JSON,
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["fields"]["value"] == ["This value is blocked already."]
    any_kind = api.post(
        "/api/v1/blocked-values/", {"kind": None, "value": "guest"}, content_type=JSON
    )
    assert any_kind.status_code == 201 and any_kind.json()["kind"] is None
    pk = created.json()["id"]
    assert api.delete(f"/api/v1/blocked-values/{pk}/").status_code == 204
    assert not BlockedValue.objects.filter(pk=pk).exists()


def test_the_dry_run_reports_the_figures_of_a_proposal(api, web, crm, send):
    send(web, message("identify", userId="w1", traits={"email": "shared@example.org"}))
    send(crm, message("identify", userId="CRM-1", traits={"email": "shared@example.org"}))
    blocked = [
        {"kind": None, "value": v} for v in BlockedValue.objects.values_list("value", flat=True)
    ]
    response = api.post(
        "/api/v1/identity-rules/dry-run/",
        {"blocked": [*blocked, {"kind": "email", "value": "shared@example.org"}]},
        content_type=JSON,
    )
    assert response.status_code == 200
    assert response.json() == {
        "profiles_before": 1,
        "profiles_after": 2,
        "merging": 0,
        "splitting": 1,
        "events_scanned": 2,
    }
    unknown = api.post(
        "/api/v1/identity-rules/dry-run/", {"kinds": {"fax": {"priority": 1}}}, content_type=JSON
    )
    assert unknown.status_code == 400 and "kinds" in unknown.json()["error"]["fields"]


def test_computed_traits_crud_with_validation(api, django_capture_on_commit_callbacks):
    bad = api.post(
        "/api/v1/computed-traits/",
        {"key": "spent", "label": "Spent", "event_name": "Order Completed", "aggregation": "sum"},
        content_type=JSON,
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["property"] == ["Sum needs a property to aggregate."]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = api.post(
            "/api/v1/computed-traits/",
            {
                "key": "spent",
                "label": "Spent",
                "event_name": "Order Completed",
                "aggregation": "sum",
                "property": "total",
                "window_days": 365,
            },
            content_type=JSON,
        )
    assert created.status_code == 201 and len(callbacks) == 1  # the backfill was queued
    pk = created.json()["id"]
    patched = api.patch(
        f"/api/v1/computed-traits/{pk}/", {"aggregation": "count"}, content_type=JSON
    )
    assert patched.status_code == 200 and patched.json()["property"] == ""
    listed = api.get("/api/v1/computed-traits/").json()["results"]
    assert "spent" in [t["key"] for t in listed]  # beside the RFM definitions installed
    assert api.delete(f"/api/v1/computed-traits/{pk}/").status_code == 204
    assert not ComputedTrait.objects.filter(pk=pk).exists()


def test_trait_keys_and_stage_rules_are_updated(api):
    trait = TraitKey.objects.create(key="city", type="text")
    listed = api.get("/api/v1/trait-keys/").json()["results"]
    assert listed[0]["key"] == "city" and listed[0]["strategy"] == "priority"
    patched = api.patch(
        f"/api/v1/trait-keys/{trait.pk}/", {"strategy": "latest", "key": "x"}, content_type=JSON
    )
    assert patched.status_code == 200
    trait.refresh_from_db()
    assert (trait.key, trait.strategy) == ("city", "latest")
    rule = StageRule.objects.get(stage="retention")
    response = api.patch(
        f"/api/v1/stage-rules/{rule.pk}/",
        {"event_names": ["Order Completed"], "min_count": 2},
        content_type=JSON,
    )
    assert response.status_code == 200
    rule.refresh_from_db()
    assert rule.min_count == 2
    empty = api.patch(
        f"/api/v1/stage-rules/{rule.pk}/", {"event_names": [" "], "min_days": 0}, content_type=JSON
    )
    assert empty.status_code == 400
    assert set(empty.json()["error"]["fields"]) >= {"min_days"}
    lapsed = StageRule.objects.get(stage="lapsed")
    refused = api.patch(
        f"/api/v1/stage-rules/{lapsed.pk}/", {"quiet_days": None}, content_type=JSON
    )
    assert refused.status_code == 400 and "quiet_days" in refused.json()["error"]["fields"]
    assert len(api.get("/api/v1/stage-rules/").json()["results"]) == StageRule.objects.count()


@pytest.mark.parametrize("role", [MARKETER, VIEWER])
def test_only_admins_change_rules_through_the_api(client_as, role):
    client = client_as(role)
    email = IdentifierKind.objects.get(name="email")
    reads = client.get("/api/v1/identifier-kinds/")
    assert reads.status_code == (200 if role == MARKETER else 403)
    for method, url, body in [
        ("post", "/api/v1/identifier-kinds/", {"name": "x", "label": "x"}),
        ("patch", f"/api/v1/identifier-kinds/{email.pk}/", {"priority": 1}),
        ("post", "/api/v1/blocked-values/", {"value": "x"}),
        ("post", "/api/v1/identity-rules/dry-run/", {}),
        (
            "post",
            "/api/v1/computed-traits/",
            {"key": "n", "label": "n", "event_name": "x", "aggregation": "count"},
        ),
    ]:
        response = getattr(client, method)(url, body, content_type=JSON)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] == "permission_denied"
    assert IdentifierKind.objects.get(name="email").priority == 70


def test_the_schema_still_builds(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/identity-rules/dry-run/" in response.content
