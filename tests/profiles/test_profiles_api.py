"""REST API of profiles: list and search, detail with provenance, timeline, notes,
consent, merges, and the one error shape."""

import pytest

from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from profiles.models import Merge, Note, Profile

from .conftest import active_profiles, message, profile_of

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def two(web, crm, send):
    """Two people: Ann (web, with a city) and Bo (CRM)."""
    send(
        web,
        message(
            "identify",
            userId="w-ann",
            traits={"email": "ann@example.org", "firstName": "Ann", "city": "Lyon"},
        ),
    )
    bo = {"email": "bo@example.org", "firstName": "Bo", "city": "Oslo"}
    send(crm, message("identify", userId="CRM-1", minutes=1, traits=bo))
    return profile_of("user_id", "w-ann"), profile_of("crm_id", "CRM-1")


def _error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def test_list_filters_by_stage_and_searches_by_prefix(two, client_as):
    ann, bo = two
    api = client_as(MARKETER)
    listed = api.get("/api/v1/profiles/").json()
    assert {p["id"] for p in listed["results"]} == {ann.pk, bo.pk} and "next" in listed
    # A prefix of an e-mail finds the person for whoever sees personal data; a marketer,
    # who sees it masked, finds them only by the whole address (profiles/masking.py).
    assert api.get("/api/v1/profiles/?q=BO@exa").json()["results"] == []
    found = api.get("/api/v1/profiles/?q=bo@example.org").json()["results"]
    assert [p["id"] for p in found] == [bo.pk]
    assert api.get("/api/v1/profiles/?stage=retention").json()["results"] == []
    assert "stage" in _error(api.get("/api/v1/profiles/?stage=nope"), 400)["fields"]
    found = client_as(ACCOUNT_MANAGER).get("/api/v1/profiles/?q=BO@exa").json()["results"]
    assert [p["id"] for p in found] == [bo.pk]


def test_list_pages_with_a_cursor(two, client_as):
    api = client_as(MARKETER)
    first = api.get("/api/v1/profiles/?limit=1").json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) == len(second["results"]) == 1
    assert first["results"][0]["id"] != second["results"][0]["id"]


def test_detail_has_traits_with_provenance_identities_and_consent(two, crm, send, client_as):
    ann, _ = two
    send(
        crm,
        message(
            "identify",
            userId="CRM-9",
            minutes=5,
            traits={"email": "ann@example.org", "city": "Paris"},
        ),
    )
    body = client_as(MARKETER).get(f"/api/v1/profiles/{ann.pk}/").json()
    city = next(t for t in body["traits"] if t["key"] == "city")
    assert city["value"] == "Paris" and city["source"] == "CRM"
    assert [(o["value"], o["source"]) for o in city["others"]] == [("Lyon", "Webshop")]
    kinds = {(i["kind"], i["value"]) for i in body["identities"]}
    assert ("crm_id", "CRM-9") in kinds and ("user_id", "w-ann") in kinds
    assert {c["purpose"] for c in body["consent"]} >= {"email_marketing", "analytics"}
    assert "computed" in body and "stage" in body


def test_a_merged_profiles_id_answers_with_its_survivor(two, client_as):
    ann, bo = two
    admin = client_as(ADMIN)
    merged = admin.post(
        "/api/v1/profiles/merge/", {"survivor_id": ann.pk, "merged_id": bo.pk}, content_type=JSON
    )
    assert merged.status_code == 201 and merged.json()["reason"] == "manual"
    assert admin.get(f"/api/v1/profiles/{bo.pk}/").json()["id"] == ann.pk
    identities = admin.get(f"/api/v1/profiles/{ann.pk}/identities/").json()["results"]
    assert {i["value"] for i in identities} >= {"w-ann", "CRM-1"}


def test_merge_and_undo_through_the_api(two, client_as):
    ann, bo = two
    api = client_as(ACCOUNT_MANAGER)
    merge = api.post(
        "/api/v1/profiles/merge/", {"survivor_id": ann.pk, "merged_id": bo.pk}, content_type=JSON
    ).json()
    assert active_profiles().count() == 1
    history = api.get(f"/api/v1/profiles/merges/?profile={bo.pk}").json()["results"]
    assert [m["id"] for m in history] == [merge["id"]]
    undone = api.post(f"/api/v1/profiles/merges/{merge['id']}/undo/")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert active_profiles().count() == 2
    again = _error(api.post(f"/api/v1/profiles/merges/{merge['id']}/undo/"), 400)
    assert again["message"] == "This merge was already undone."
    _error(api.post("/api/v1/profiles/merges/999999/undo/"), 404)


@pytest.mark.parametrize("value", ["ann", "1.5", "-1", "1e3"])
def test_the_merge_ledger_refuses_a_profile_filter_that_is_no_profile_id(client_as, value):
    api = client_as(ACCOUNT_MANAGER)
    error = _error(api.get(f"/api/v1/profiles/merges/?profile={value}"), 400)
    assert set(error["fields"]) == {"profile"}


def test_the_merge_ledger_filtered_by_a_profile_without_merges_is_empty(two, client_as):
    ann, bo = two
    api = client_as(ACCOUNT_MANAGER)
    api.post(
        "/api/v1/profiles/merge/", {"survivor_id": ann.pk, "merged_id": bo.pk}, content_type=JSON
    )
    assert len(api.get(f"/api/v1/profiles/merges/?profile={ann.pk}").json()["results"]) == 1
    assert api.get("/api/v1/profiles/merges/?profile=0").json()["results"] == []


def test_a_refused_merge_gets_the_error_shape(two, client_as):
    ann, _ = two
    api = client_as(ADMIN)
    error = _error(
        api.post(
            "/api/v1/profiles/merge/",
            {"survivor_id": ann.pk, "merged_id": ann.pk},
            content_type=JSON,
        ),
        400,
    )
    assert error["message"] == "A profile cannot be merged with itself."
    invalid = _error(api.post("/api/v1/profiles/merge/", {}, content_type=JSON), 400)
    assert set(invalid["fields"]) == {"survivor_id", "merged_id"}
    assert not Merge.objects.exists()


def test_timeline_pages_with_a_cursor_and_filters(web, send, client_as):
    send(web, *[message(userId="u1", minutes=i // 3, event=f"E{i}") for i in range(25)])
    profile = profile_of("user_id", "u1")
    api = client_as(MARKETER)
    url, seen = f"/api/v1/profiles/{profile.pk}/timeline/?limit=4&kind=event", []
    while url:
        page = api.get(url).json()
        seen += [item["id"] for item in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 25
    none = api.get(f"/api/v1/profiles/{profile.pk}/timeline/?type=page").json()
    assert none["results"] == [] and none["next"] is None
    assert (
        "cursor"
        in _error(api.get(f"/api/v1/profiles/{profile.pk}/timeline/?cursor=zz"), 400)["fields"]
    )
    events = api.get(f"/api/v1/profiles/{profile.pk}/events/?limit=10").json()
    assert len(events["results"]) == 10 and events["next"]


@pytest.mark.parametrize(
    "query",
    [
        "limit=many",
        "source=crm",
        "kind=gossip",
        "kind=",
        "since=soon",
        "until=2026-13-01",
        "cursor=zz",
        "type=%00",
    ],
)
def test_a_bad_timeline_parameter_is_a_400_naming_it(client_as, query):
    profile = Profile.objects.create()
    response = client_as(MARKETER).get(f"/api/v1/profiles/{profile.pk}/timeline/?{query}")
    assert set(_error(response, 400)["fields"]) == {query.split("=")[0]}


def test_a_timeline_limit_out_of_bounds_is_brought_within_them(client_as):
    profile = Profile.objects.create()
    api = client_as(MARKETER)
    for note in range(3):
        Note.objects.create(profile=profile, body=f"note {note}")
    assert len(api.get(f"/api/v1/profiles/{profile.pk}/timeline/?limit=0").json()["results"]) == 1
    assert len(api.get(f"/api/v1/profiles/{profile.pk}/timeline/?limit=900").json()["results"]) == 3


def test_notes_need_the_note_capability(two, client_as):
    ann, _ = two
    marketer = client_as(MARKETER)
    error = _error(
        marketer.post(f"/api/v1/profiles/{ann.pk}/notes/", {"body": "x"}, content_type=JSON), 403
    )
    assert error["code"] == "permission_denied"
    assert marketer.get(f"/api/v1/profiles/{ann.pk}/notes/").status_code == 200


def test_an_account_manager_adds_notes_and_consent(two, make_user, client):
    ann, _ = two
    client.force_login(make_user(ACCOUNT_MANAGER))
    note = client.post(
        f"/api/v1/profiles/{ann.pk}/notes/", {"body": "Prefers phone"}, content_type=JSON
    )
    assert note.status_code == 201 and note.json()["author"] == "account-manager@example.org"
    assert Note.objects.get().body == "Prefers phone"
    blank = _error(
        client.post(f"/api/v1/profiles/{ann.pk}/notes/", {"body": " "}, content_type=JSON), 400
    )
    assert blank["code"] in ("invalid", "refused")
    grant = {"purpose": "analytics", "status": "granted"}
    consent = client.post(f"/api/v1/profiles/{ann.pk}/consent/", grant, content_type=JSON)
    assert consent.status_code == 201
    current = {c["purpose"]: c["status"] for c in consent.json()["current"]}
    assert current["analytics"] == "granted"
    unknown = _error(
        client.post(
            f"/api/v1/profiles/{ann.pk}/consent/",
            {"purpose": "telepathy", "status": "granted"},
            content_type=JSON,
        ),
        400,
    )
    assert unknown["message"] == "Unknown consent purpose 'telepathy'."
    got = client.get(f"/api/v1/profiles/{ann.pk}/consent/").json()
    assert got["records"][0]["purpose"] == "analytics"


def test_a_viewer_is_refused_and_an_unknown_profile_is_404(two, client_as):
    ann, _ = two
    viewer = client_as(VIEWER)
    assert _error(viewer.get("/api/v1/profiles/"), 403)["code"] == "permission_denied"
    _error(viewer.get(f"/api/v1/profiles/{ann.pk}/"), 403)


def test_unknown_profile_is_404(db, client_as):
    _error(client_as(MARKETER).get("/api/v1/profiles/999999/"), 404)


def test_the_schema_still_builds(client_as):
    response = client_as(ADMIN).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/profiles/{id}/timeline/" in paths
    assert "/api/v1/profiles/merges/{id}/undo/" in paths
