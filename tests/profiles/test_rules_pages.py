"""Rules pages: identity rules with a dry run before saving, computed traits, stage rules
and trait survivorship; who may read and who may change them."""

import pytest

from cdp_site.permissions import ADMIN, MARKETER, VIEWER
from profiles import tasks
from profiles.computed.backfill import backfill, progress, refresh_trait
from profiles.identifiers import load_rules
from profiles.models import (
    BlockedValue,
    ComputedTrait,
    IdentifierKind,
    IdentitySettings,
    Profile,
    SourceIdentity,
    StageRule,
    TraitKey,
)

from .conftest import message

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin(client_as):
    return client_as(ADMIN)


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Queued tasks run in the test itself (the backfill is tested on its own)."""
    monkeypatch.setattr(tasks.backfill_computed_trait, "delay", lambda pk: backfill(pk))
    monkeypatch.setattr(tasks.refresh_current_trait, "delay", lambda key: refresh_trait(key))


@pytest.mark.parametrize(
    "url",
    [
        "/profiles/rules/",
        "/profiles/rules/computed/",
        "/profiles/rules/stages/",
        "/profiles/rules/traits/",
    ],
)
def test_every_rules_page_is_readable_by_a_marketer_but_not_a_viewer(client_as, url):
    load_rules()
    marketer = client_as(MARKETER)
    page = marketer.get(url)
    assert page.status_code == 200
    assert b"Edit</a>" not in page.content  # read-only for them
    marketer.logout()
    assert client_as(VIEWER).get(url).status_code == 403


@pytest.mark.parametrize("role", [MARKETER, VIEWER])
def test_only_admins_change_rules(client_as, role):
    load_rules()
    email = IdentifierKind.objects.get(name="email")
    rule = StageRule.objects.first()
    client = client_as(role)
    posts = [
        (
            "/profiles/rules/kinds/add/",
            {"name": "partner_member_id", "label": "P", "priority": 5, "normalizer": "text"},
        ),
        (
            f"/profiles/rules/kinds/{email.pk}/",
            {"label": "E", "priority": 1, "normalizer": "email"},
        ),
        ("/profiles/rules/blocked/add/", {"value": "x"}),
        ("/profiles/rules/settings/", {"region": "DE"}),
        (
            "/profiles/rules/computed/",
            {"label": "n", "key": "n", "event_name": "x", "aggregation": "count"},
        ),
        (f"/profiles/rules/stages/{rule.pk}/", {"event_names": "x", "min_count": 1, "min_days": 1}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert not IdentifierKind.objects.filter(name="partner_member_id").exists()
    assert IdentifierKind.objects.get(name="email").priority == 70
    assert not ComputedTrait.objects.filter(key="n").exists()


def test_an_admin_adds_a_custom_identifier_kind(admin):
    response = admin.post(
        "/profiles/rules/kinds/add/",
        {
            "name": "partner_member_id",
            "label": "Partner member id",
            "priority": 75,
            "max_per_profile": 1,
            "normalizer": "lower",
            "trait_keys": "partnerId, memberNo",
        },
    )
    assert response.status_code == 302
    kind = IdentifierKind.objects.get(name="partner_member_id")
    assert (kind.priority, kind.max_per_profile, kind.builtin) == (75, 1, False)
    assert kind.trait_keys == ["partnerId", "memberNo"]
    assert b"partner_member_id" in admin.get("/profiles/rules/").content


def test_a_bad_kind_shows_the_field_and_the_reason(admin):
    response = admin.post(
        "/profiles/rules/kinds/add/",
        {
            "name": "email",
            "label": "Dup",
            "priority": 5,
            "max_per_profile": 0,
            "normalizer": "text",
        },
        **HTMX,
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert 'id="id_name_error"' in text and "exists already" in text
    assert 'id="id_max_per_profile_error"' in text and "at least 1" in text


def test_changing_a_limit_shows_a_dry_run_before_it_saves(admin, web, send):
    send(web, message("identify", userId="u1", traits={"email": "family@example.org"}))
    send(web, message("identify", userId="u2", traits={"email": "family@example.org"}, minutes=1))
    kind = IdentifierKind.objects.get(name="user_id")
    data = {
        "label": kind.label,
        "priority": 100,
        "max_per_profile": 2,
        "normalizer": "text",
        "trait_keys": ", ".join(kind.trait_keys),
    }
    first = admin.post(f"/profiles/rules/kinds/{kind.pk}/", data, **HTMX)
    assert first.status_code == 200
    text = first.content.decode()
    assert 'data-figure="merging">2<' in text and 'data-figure="profiles_after">1<' in text
    kind.refresh_from_db()
    assert kind.max_per_profile == 1  # not saved yet
    token = first.context["dry_run_token"]

    # A token is only good for the proposal it was shown for.
    other = admin.post(
        f"/profiles/rules/kinds/{kind.pk}/",
        {**data, "max_per_profile": 3, "dry_run": token},
        **HTMX,
    )
    assert "dry_run" in other.context and other.context["dry_run"] is not None
    kind.refresh_from_db()
    assert kind.max_per_profile == 1

    saved = admin.post(f"/profiles/rules/kinds/{kind.pk}/", {**data, "dry_run": token}, **HTMX)
    assert saved.status_code == 200 and b"Saved" in saved.content
    kind.refresh_from_db()
    assert kind.max_per_profile == 2


def test_a_label_change_saves_without_a_dry_run(admin):
    load_rules()
    kind = IdentifierKind.objects.get(name="phone")
    data = {
        "label": "Mobile",
        "priority": kind.priority,
        "max_per_profile": kind.max_per_profile,
        "normalizer": "phone",
        "trait_keys": "phone, mobile",
    }
    assert admin.post(f"/profiles/rules/kinds/{kind.pk}/", data).status_code == 302
    kind.refresh_from_db()
    assert (kind.label, kind.trait_keys) == ("Mobile", ["phone", "mobile"])


def test_blocking_a_value_runs_a_dry_run_then_saves(admin, web, crm, send):
    send(web, message("identify", userId="w1", traits={"email": "shared@example.org"}))
    send(crm, message("identify", userId="CRM-1", traits={"email": "shared@example.org"}))
    data = {"kind": "email", "value": "shared@example.org"}
    first = admin.post("/profiles/rules/blocked/add/", data, **HTMX)
    assert 'data-figure="splitting">1<' in first.content.decode()
    assert not BlockedValue.objects.filter(value="shared@example.org").exists()
    admin.post("/profiles/rules/blocked/add/", {**data, "dry_run": first.context["dry_run_token"]})
    blocked = BlockedValue.objects.get(value="shared@example.org")
    assert blocked.kind.name == "email"

    removing = admin.post(f"/profiles/rules/blocked/{blocked.pk}/remove/", **HTMX)
    assert 'data-figure="splitting">0<' in removing.content.decode()
    assert BlockedValue.objects.filter(pk=blocked.pk).exists()
    admin.post(
        f"/profiles/rules/blocked/{blocked.pk}/remove/",
        {"dry_run": removing.context["dry_run_token"]},
    )
    assert not BlockedValue.objects.filter(pk=blocked.pk).exists()


def test_an_empty_or_duplicate_blocked_value_is_refused_with_a_reason(admin):
    load_rules()
    response = admin.post("/profiles/rules/blocked/add/", {"value": "  "}, **HTMX)
    assert response.status_code == 400 and 'id="id_value_error"' in response.content.decode()
    response = admin.post("/profiles/rules/blocked/add/", {"value": "UNDEFINED"}, **HTMX)
    assert response.status_code == 400 and "blocked already" in response.content.decode()


def test_phone_region_and_source_user_id_kind(admin, web):
    assert admin.post("/profiles/rules/settings/", {"region": "NL"}).status_code == 302
    assert IdentitySettings.load().default_phone_region == "NL"
    bad = admin.post("/profiles/rules/settings/", {"region": "XX"}, **HTMX)
    assert bad.status_code == 400 and 'id="id_region_error"' in bad.content.decode()
    response = admin.post(f"/profiles/rules/sources/{web.pk}/", {f"source-{web.pk}-kind": "crm_id"})
    assert response.status_code == 302
    assert SourceIdentity.objects.get(source=web).user_id_kind.name == "crm_id"
    admin.post(f"/profiles/rules/sources/{web.pk}/", {f"source-{web.pk}-kind": "user_id"})
    assert not SourceIdentity.objects.filter(source=web).exists()


def test_a_computed_trait_is_created_backfilled_and_shows_its_progress(admin, web, send):
    send(
        web,
        message(userId="u1", event="Order Completed", properties={"total": 10}),
        message(userId="u1", event="Order Completed", properties={"total": 5}, minutes=1),
    )
    page = admin.get("/profiles/rules/computed/")
    assert b'<option value="Order Completed">' in page.content  # autocomplete
    data = {
        "label": "Total spent",
        "key": "total_spent",
        "event_name": "Order Completed",
        "aggregation": "sum",
        "property": "total",
    }
    with_capture = admin.post("/profiles/rules/computed/", data)
    assert with_capture.status_code == 302
    trait = ComputedTrait.objects.get(key="total_spent")

    (profile,) = Profile.objects.filter(merged_into__isnull=True)
    # The backfill runs on commit; the test transaction never commits, so run it here.
    assert backfill(trait.pk) == 1
    profile.refresh_from_db()
    assert profile.computed["total_spent"] == 15
    assert progress(trait.pk)["state"] == "done"
    partial = admin.get(f"/profiles/rules/computed/{trait.pk}/progress/", **HTMX)
    assert b"Done: 1 profile" in partial.content
    names = admin.get("/profiles/rules/computed/event-names/?event_name=ord", **HTMX)
    assert names.content.decode().startswith('<datalist id="event-names">')
    assert b"Order Completed" in names.content
    others = admin.get("/profiles/rules/computed/event-names/?event_name=prod", **HTMX)
    assert b"Order Completed" not in others.content


def test_a_sum_without_a_property_is_refused_with_a_reason(admin):
    data = {
        "label": "Total",
        "key": "total",
        "event_name": "Order Completed",
        "aggregation": "sum",
        "property": "",
        "window_days": 0,
    }
    response = admin.post("/profiles/rules/computed/", data, **HTMX)
    assert response.status_code == 400
    text = response.content.decode()
    assert 'id="id_property_error"' in text and "Sum needs a property" in text
    assert 'id="id_window_days_error"' in text
    assert not ComputedTrait.objects.filter(key="total").exists()


def test_editing_and_deleting_a_computed_trait(admin, django_capture_on_commit_callbacks):
    trait = ComputedTrait.objects.create(
        key="orders", label="Orders", event_name="Order Completed", aggregation="count"
    )
    data = {
        "label": "Orders (90 days)",
        "key": "orders_90d",
        "event_name": "Order Completed",
        "aggregation": "count",
        "window_days": 90,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/profiles/rules/computed/{trait.pk}/", data)
    assert response.status_code == 302
    trait.refresh_from_db()
    assert (trait.key, trait.window_days) == ("orders_90d", 90)
    assert admin.post(f"/profiles/rules/computed/{trait.pk}/delete/").status_code == 302
    assert not ComputedTrait.objects.filter(pk=trait.pk).exists()


def test_editing_a_stage_rule_inline(admin):
    load_rules()
    rule = StageRule.objects.get(stage="retention")
    form = admin.get(f"/profiles/rules/stages/{rule.pk}/?edit", **HTMX)
    assert b"<form" in form.content
    bad = admin.post(
        f"/profiles/rules/stages/{rule.pk}/",
        {"event_names": " , ", "min_count": 0, "min_days": 1},
        **HTMX,
    )
    assert bad.status_code == 400
    text = bad.content.decode()
    assert 'id="id_event_names_error"' in text and 'id="id_min_count_error"' in text
    saved = admin.post(
        f"/profiles/rules/stages/{rule.pk}/",
        {"event_names": "Order Completed, Subscription Renewed", "min_count": 2, "min_days": 2},
        **HTMX,
    )
    assert saved.status_code == 200 and b"Saved" in saved.content
    rule.refresh_from_db()
    assert rule.event_names == ["Order Completed", "Subscription Renewed"]
    assert (rule.min_count, rule.min_days) == (2, 2)
    lapsed = StageRule.objects.get(stage="lapsed")
    refused = admin.post(
        f"/profiles/rules/stages/{lapsed.pk}/", {"min_count": 1, "min_days": 1}, **HTMX
    )
    assert refused.status_code == 400 and 'id="id_quiet_days_error"' in refused.content.decode()


def test_changing_a_traits_strategy_rechooses_the_current_value(admin, web, crm, send):
    send(crm, message("identify", userId="CRM-1", traits={"email": "a@x.org", "city": "Ghent"}))
    send(
        web,
        message("identify", userId="w1", traits={"email": "a@x.org", "city": "Bruges"}, minutes=5),
    )

    (profile,) = Profile.objects.filter(merged_into__isnull=True)
    assert profile.traits["city"] == "Ghent"  # the CRM is the more trusted source
    city = TraitKey.objects.get(key="city")
    response = admin.post(
        f"/profiles/rules/traits/{city.pk}/", {"type": "text", "strategy": "latest"}
    )
    assert response.status_code == 302
    city.refresh_from_db()
    assert city.strategy == "latest"
    refresh_trait("city")  # queued on commit; the test transaction never commits
    profile.refresh_from_db()
    assert profile.traits["city"] == "Bruges"
