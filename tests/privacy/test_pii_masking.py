"""PII controls: trait keys and identifier kinds marked personal are shown masked to roles
not granted "see personal data" (Admin always is; Account manager by default), on the
pages, in the API and in segment member lists; exports holding personal data need the
grant and are audited; flags and the grant are changed by admins, audited."""

import re

import pytest

from cdp_site.models import AuditEntry
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER, Cap, capabilities_of
from profiles import masking
from profiles.models import IdentifierKind, TraitKey
from profiles.rules import services as rules
from segments import membership
from segments import services as segments
from tests.profiles.conftest import message, profile_of, send, web  # noqa: F401
from tests.segments.conftest import rule

# --- masking one value -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ann@example.com", "a•••@example.com"),
        ("a@example.com", "a•••@example.com"),  # a one-letter local part
        ("  Bo.Smith@Mail.example.org ", "B•••@Mail.example.org"),
        ("not an address", "n••• a••• a•••"),  # no @: masked as text
        ("@example.com", "@•••"),
        ("", ""),
        (None, None),
    ],
)
def test_an_email_keeps_its_first_letter_and_domain(value, shown):
    assert masking.mask_email(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("+31612345612", "+31 6 •••• 12"),
        ("+14155552671", "+1 4 •••• 71"),
        ("+44 20 7946 0958", "+44 2 •••• 58"),
        ("0612345678", "0 •••• 78"),  # no country code
        ("12345", "••••"),  # too short to show any of it
        ("", ""),
    ],
)
def test_a_phone_keeps_its_country_code_first_and_last_digits(value, shown):
    assert masking.mask_phone(value) == shown


def test_other_values_keep_the_first_letter_of_each_word_or_nothing():
    assert masking.mask_text("Ann van Dijk") == "A••• v••• D•••"
    assert masking.mask_text("x") == "x•••"
    assert masking.mask_text(19850412) == "•••"
    assert masking.mask_text("   ") == "•••"
    assert masking.mask_value(["ann@example.com", "+31612345612"]) == [
        "a•••@example.com",
        "+31 6 •••• 12",
    ]
    assert masking.mask_value({"street": "Main St 1"}) == {"street": "M••• S••• 1•••"}
    assert masking.mask_value("1990-04-12") == "1•••"  # a date is no phone number
    assert masking.mask_value("+31 6 1234 5612") == "+31 6 •••• 12"


@pytest.mark.parametrize(
    "key", ["email", "firstName", "last_name", "phone", "mobile", "address", "birthday", "zip"]
)
def test_trait_keys_that_look_personal(key):
    assert masking.looks_personal(key)


@pytest.mark.parametrize(
    "key", ["plan", "country", "email_verified", "marketingOptIn", "company_name", "orders"]
)
def test_trait_keys_that_do_not_look_personal(key):
    assert not masking.looks_personal(key)


# --- flags and the grant -----------------------------------------------------------------


@pytest.mark.django_db
def test_email_and_phone_kinds_start_personal_and_new_personal_looking_traits_too(
    send,  # noqa: F811
    web,  # noqa: F811
):
    personal = set(IdentifierKind.objects.filter(personal=True).values_list("name", flat=True))
    assert personal == {"email", "phone"}
    traits = {"email": "ann@example.com", "firstName": "Ann", "plan": "gold", "birthday": "1990"}
    send(web, message("identify", userId="ann", traits=traits))
    flags = dict(TraitKey.objects.values_list("key", "personal"))
    assert flags == {"email": True, "firstName": True, "plan": False, "birthday": True}


@pytest.mark.django_db
def test_admins_always_and_account_managers_by_default_see_personal_data(make_user):
    holders = {
        role for role in (ADMIN, MARKETER, ACCOUNT_MANAGER, VIEWER)
        if Cap.SEE_PERSONAL_DATA in capabilities_of(make_user(role))
    }  # fmt: skip
    assert holders == {ADMIN, ACCOUNT_MANAGER}


@pytest.mark.django_db
def test_granting_a_role_is_audited_with_before_and_after(make_user):
    rules.set_personal_data_roles(roles=[MARKETER, ACCOUNT_MANAGER, ADMIN])
    assert Cap.SEE_PERSONAL_DATA in capabilities_of(make_user(MARKETER))
    entry = AuditEntry.objects.get(action="personal_data.grant")
    assert entry.details == {"roles": [[ACCOUNT_MANAGER], [ACCOUNT_MANAGER, MARKETER]]}
    rules.set_personal_data_roles(roles=[MARKETER, ACCOUNT_MANAGER])  # no change: no row
    assert AuditEntry.objects.filter(action="personal_data.grant").count() == 1
    with pytest.raises(rules.RulesError, match="Unknown roles: Owner"):
        rules.set_personal_data_roles(roles=["Owner"])


# --- what each role sees -----------------------------------------------------------------

ANN = {
    "email": "ann@example.com",
    "phone": "+31612345612",
    "firstName": "Ann",
    "lastName": "Smith",
    "plan": "gold",
}


@pytest.fixture
def ann(send, web):  # noqa: F811
    send(web, message("identify", userId="ann-1", traits=ANN))
    send(
        web, message("track", userId="ann-1", event="Form Sent", properties={"email": ANN["email"]})
    )
    return profile_of("user_id", "ann-1")


def _api(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_a_marketer_sees_email_phone_and_name_masked_and_other_traits_in_clear(ann, client_as):
    client = client_as(MARKETER)
    page = client.get(f"/profiles/{ann.pk}/").text
    assert "a•••@example.com" in page and "+31 6 •••• 12" in page and "A••• S•••" in page
    assert "ann@example.com" not in page and "+31612345612" not in page
    assert "Ann Smith" not in page
    assert '<td class="trait-value">gold</td>' in page  # not personal: in clear
    listed = client.get("/profiles/?q=ann@example.com").text  # found by the whole address
    row = re.search(rf'<tr>\s*<td><a href="/profiles/{ann.pk}/">.*?</tr>', listed, re.S)[0]
    assert "a•••@example.com" in row and "A••• S•••" in row and "ann@" not in row

    detail = _api(client, f"/api/v1/profiles/{ann.pk}/")
    assert detail["display_name"] == "A••• S•••"
    shown = {i["kind"]: i["value"] for i in detail["identities"]}
    assert shown["email"] == "a•••@example.com" and shown["phone"] == "+31 6 •••• 12"
    assert shown["user_id"] == "ann-1"  # not personal
    traits = {t["key"]: t["value"] for t in detail["traits"]}
    assert traits["email"] == "a•••@example.com" and traits["plan"] == "gold"
    identities = _api(client, f"/api/v1/profiles/{ann.pk}/identities/")["results"]
    assert "a•••@example.com" in {i["value"] for i in identities}
    listed = _api(client, "/api/v1/profiles/?q=ann@example.com")["results"]
    assert listed[0]["display_name"] == "A••• S•••"
    assert listed[0]["traits"]["phone"] == "+31 6 •••• 12"
    events = _api(client, f"/api/v1/profiles/{ann.pk}/events/")["results"]
    assert {e["properties"].get("email") for e in events} >= {"a•••@example.com"}
    timeline = _api(client, f"/api/v1/profiles/{ann.pk}/timeline/")["results"]
    assert "ann@example.com" not in str(timeline) and "a•••@example.com" in str(timeline)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [ACCOUNT_MANAGER, ADMIN])
def test_account_managers_and_admins_see_personal_data_in_clear(role, ann, client_as):
    client = client_as(role)
    page = client.get(f"/profiles/{ann.pk}/").text
    assert "ann@example.com" in page and "+31612345612" in page and "Ann Smith" in page
    assert "•••" not in page
    detail = _api(client, f"/api/v1/profiles/{ann.pk}/")
    assert detail["display_name"] == "Ann Smith"
    assert {i["value"] for i in detail["identities"]} >= {"ann@example.com", "+31612345612"}


@pytest.mark.django_db
def test_granting_the_marketer_role_unmasks_and_a_revoked_role_is_masked_again(ann, client_as):
    rules.set_personal_data_roles(roles=[MARKETER])
    client = client_as(MARKETER)
    assert "ann@example.com" in client.get(f"/profiles/{ann.pk}/").text
    assert AuditEntry.objects.filter(action="personal_data.grant").exists()
    rules.set_personal_data_roles(roles=[])
    page = client_as(ACCOUNT_MANAGER).get(f"/profiles/{ann.pk}/").text
    assert "ann@example.com" not in page and "a•••@example.com" in page


@pytest.mark.django_db
def test_a_trait_unmarked_personal_shows_in_clear(ann, client_as):
    rules.update_trait_key(trait_key=TraitKey.objects.get(key="firstName"), personal=False)
    rules.update_trait_key(trait_key=TraitKey.objects.get(key="plan"), personal=True)
    entry = AuditEntry.objects.filter(action="personal_data.flag").latest("id")
    assert entry.target_type == "profiles.traitkey" and entry.details == {"personal": [False, True]}
    traits = {
        t["key"]: t["value"]
        for t in _api(client_as(MARKETER), f"/api/v1/profiles/{ann.pk}/")["traits"]
    }
    assert traits["firstName"] == "Ann" and traits["plan"] == "g•••"


# --- segment members and their export ----------------------------------------------------


@pytest.fixture
def plan_gold(ann):
    segment = segments.create_segment(
        name="Gold", rule=rule({"type": "trait", "key": "plan", "op": "equals", "value": "gold"})
    )
    return membership.recompute(segment)


@pytest.mark.django_db
def test_a_marketer_sees_segment_members_masked_and_may_not_export_them(plan_gold, client_as):
    client = client_as(MARKETER)
    page = client.get(f"/segments/{plan_gold.pk}/").text
    assert "a•••@example.com" in page and "A••• S•••" in page and "ann@example.com" not in page
    assert "export.csv" not in page  # not offered
    members = _api(client, f"/api/v1/segments/{plan_gold.pk}/members/")["results"]
    assert [(m["name"], m["email"]) for m in members] == [("A••• S•••", "a•••@example.com")]

    refused = client.get(f"/segments/{plan_gold.pk}/export.csv")
    assert refused.status_code == 403 and "not granted to see personal data" in refused.text
    refused = client.get(f"/api/v1/segments/{plan_gold.pk}/export/")
    assert refused.status_code == 403
    assert "not granted to see personal data" in refused.json()["error"]["message"]
    assert not AuditEntry.objects.filter(action="segment.export").exists()


@pytest.mark.django_db
def test_an_admin_exports_segment_members_in_clear_and_it_is_audited(plan_gold, client_as):
    client = client_as(ADMIN)
    response = client.get(f"/segments/{plan_gold.pk}/export.csv")
    assert response.status_code == 200
    assert "ann@example.com" in b"".join(response.streaming_content).decode()
    assert client.get(f"/api/v1/segments/{plan_gold.pk}/export/").status_code == 200
    entries = AuditEntry.objects.filter(action="segment.export").order_by("id")
    assert [(e.target_id, e.details["via"], e.details["members"]) for e in entries] == [
        (str(plan_gold.pk), "page", 1),
        (str(plan_gold.pk), "api", 1),
    ]
    assert all(e.actor_role == ADMIN for e in entries)


# --- admins mark personal data and grant it ----------------------------------------------


@pytest.mark.django_db
def test_an_admin_marks_a_kind_and_a_trait_on_their_pages_and_in_the_api(ann, client_as):
    client = client_as(ADMIN)
    crm = IdentifierKind.objects.get(name="crm_id")
    form = {
        "label": crm.label,
        "priority": crm.priority,
        "max_per_profile": crm.max_per_profile,
        "normalizer": crm.normalizer,
        "trait_keys": ", ".join(crm.trait_keys),
        "personal": "on",
    }
    assert client.post(f"/profiles/rules/kinds/{crm.pk}/", form).status_code == 302
    assert IdentifierKind.objects.get(pk=crm.pk).personal
    plan = TraitKey.objects.get(key="plan")
    form = {"type": plan.type, "strategy": plan.strategy, "personal": "on"}
    assert client.post(f"/profiles/rules/traits/{plan.pk}/", form).status_code == 302
    assert "personal data</span>" in client.get("/profiles/rules/traits/").text

    answer = client.patch(
        f"/api/v1/identifier-kinds/{crm.pk}/", {"personal": False}, content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["personal"] is False
    answer = client.patch(
        f"/api/v1/trait-keys/{plan.pk}/", {"personal": False}, content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["personal"] is False
    flags = AuditEntry.objects.filter(action="personal_data.flag").order_by("id")
    assert [(e.target_type, e.details["personal"]) for e in flags] == [
        ("profiles.identifierkind", [False, True]),
        ("profiles.traitkey", [False, True]),
        ("profiles.identifierkind", [True, False]),
        ("profiles.traitkey", [True, False]),
    ]


@pytest.mark.django_db
def test_an_admin_grants_roles_on_the_personal_data_page_and_in_the_api(client_as):
    marketer = client_as(MARKETER)
    assert marketer.get("/profiles/rules/personal-data/").status_code == 403
    assert marketer.get("/api/v1/personal-data/").status_code == 403
    client = client_as(ADMIN)
    page = client.get("/profiles/rules/personal-data/")
    assert page.status_code == 200 and "<code>email</code>" in page.text
    response = client.post("/profiles/rules/personal-data/", {"roles": [MARKETER]})
    assert response.status_code == 302
    assert rules.personal_data_roles() == [MARKETER]
    answer = client.put(
        "/api/v1/personal-data/", {"roles": [VIEWER]}, content_type="application/json"
    )
    assert answer.json() == {"roles": [VIEWER], "always": [ADMIN]}
    bad = client.put(
        "/api/v1/personal-data/", {"roles": ["Owner"]}, content_type="application/json"
    )
    assert bad.status_code == 400 and "roles" in bad.json()["error"]["fields"]
    grants = AuditEntry.objects.filter(action="personal_data.grant").order_by("id")
    assert [e.details["roles"] for e in grants] == [
        [[ACCOUNT_MANAGER], [MARKETER]],
        [[MARKETER], [VIEWER]],
    ]


@pytest.mark.django_db
def test_why_a_person_is_in_a_segment_shows_their_personal_trait_masked(ann, client_as):
    condition = {"type": "trait", "key": "email", "op": "contains", "value": "example"}
    segment = membership.recompute(segments.create_segment(name="Ours", rule=rule(condition)))
    page = client_as(MARKETER).get(f"/segments/profile/{ann.pk}/explain/{segment.pk}/").text
    assert "Their email: “a•••@example.com”" in page and "ann@example.com" not in page
    page = client_as(ADMIN).get(f"/segments/profile/{ann.pk}/explain/{segment.pk}/").text
    assert "Their email: “ann@example.com”" in page


@pytest.mark.django_db
def test_a_marketer_finds_personal_identifiers_and_names_only_by_their_whole_value(ann, client_as):
    client = client_as(MARKETER)

    def found(q: str) -> list[int]:
        return [p["id"] for p in client.get("/api/v1/profiles/", {"q": q}).json()["results"]]

    assert found("ann@") == [] and found("+3161") == [] and found("Ann S") == []
    assert found("ANN@example.com") == found("+31 6 12345612") == found("ann smith") == [ann.pk]
    assert found("ann-") == [ann.pk]  # a user id is not personal: its prefix finds
    admin = client_as(ADMIN)
    assert [p["id"] for p in _api(admin, "/api/v1/profiles/?q=ann@")["results"]] == [ann.pk]
