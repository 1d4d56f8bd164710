"""REST API of segments: CRUD with rule errors under their rule path, counts and
previews of unsaved rules, members, history, export, recompute, and roles."""

import csv
import io

import pytest
from django.db import transaction
from django.test import TestCase

from cdp_site.permissions import MARKETER, VIEWER
from profiles.models import Identity
from profiles.rules import services as personal_data
from segments import membership, tasks
from segments.models import Segment

from .conftest import message, rule

pytestmark = pytest.mark.django_db
JSON = "application/json"
DUTCH = rule({"type": "trait", "key": "country", "op": "equals", "value": "NL"})


def _error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


@pytest.fixture
def people(web, send):
    """ann and bo are Dutch (with e-mails), cy is Belgian."""
    for user, country, email in [
        ("ann", "NL", "ann@example.org"),
        ("bo", "nl", "bo@example.org"),
        ("cy", "BE", "cy@example.org"),
    ]:
        send(
            web,
            message(
                "identify",
                userId=user,
                traits={"country": country, "email": email, "firstName": user.title()},
            ),
        )


def _pid(value):
    return Identity.objects.get(kind__name="user_id", value=value).profile_id


def test_create_list_get_update_and_delete(people, client_as):
    api = client_as(MARKETER)
    created = api.post("/api/v1/segments/", {"name": "Dutch", "rule": DUTCH}, content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["kind"] == "dynamic" and body["depends_on"] == ["traits"]
    assert body["created_by"] == "marketer@example.org" and body["computing_since"]
    pk = body["id"]
    listed = api.get("/api/v1/segments/?q=dut").json()
    assert [s["id"] for s in listed["results"]] == [pk]
    assert api.get("/api/v1/segments/?kind=static").json()["results"] == []
    assert "kind" in _error(api.get("/api/v1/segments/?kind=nope"), 400)["fields"]
    assert api.get(f"/api/v1/segments/{pk}/").json()["rule"] == DUTCH

    patched = api.patch(f"/api/v1/segments/{pk}/", {"name": "Dutch people"}, content_type=JSON)
    assert patched.json()["name"] == "Dutch people" and patched.json()["rule"] == DUTCH
    belgian = rule({"type": "trait", "key": "country", "op": "equals", "value": "BE"})
    put = api.put(
        f"/api/v1/segments/{pk}/", {"name": "Belgians", "rule": belgian}, content_type=JSON
    )
    assert put.json()["rule"] == belgian
    assert (
        "rule"
        in _error(api.put(f"/api/v1/segments/{pk}/", {"name": "x"}, content_type=JSON), 400)[
            "fields"
        ]
    )

    assert api.delete(f"/api/v1/segments/{pk}/").status_code == 204
    assert not Segment.objects.filter(pk=pk).exists()
    assert _error(api.get(f"/api/v1/segments/{pk}/"), 404)["code"] == "not_found"


def test_rule_errors_are_keyed_by_their_rule_path(client_as):
    api = client_as(MARKETER)
    bad = rule(
        {"type": "trait", "key": "country", "op": "like", "value": "NL"},
        {"type": "event", "name": "Order Completed", "count": {"op": "at_least", "value": -1}},
    )
    fields = _error(
        api.post("/api/v1/segments/", {"name": "Bad", "rule": bad}, content_type=JSON), 400
    )["fields"]
    assert fields == {
        "rule.root.children[0].op": ["Choose how to compare."],
        "rule.root.children[1].count.value": ["The count must be a whole number from 1 to 100000."],
    }
    assert not Segment.objects.exists()
    fields = _error(api.post("/api/v1/segments/", {"name": "No rule"}, content_type=JSON), 400)[
        "fields"
    ]
    assert "rule" in fields
    fields = _error(
        api.post("/api/v1/segments/count/", {"rule": "all of them"}, content_type=JSON), 400
    )["fields"]
    assert fields == {"rule": ["A rule is a JSON object."]}


def test_an_update_that_would_make_a_cycle_is_refused(client_as):
    api = client_as(MARKETER)
    a = api.post("/api/v1/segments/", {"name": "A", "rule": DUTCH}, content_type=JSON).json()
    b_rule = rule({"type": "segment", "segment_id": a["id"]})
    b = api.post("/api/v1/segments/", {"name": "B", "rule": b_rule}, content_type=JSON).json()
    cycle = rule({"type": "segment", "segment_id": b["id"]})
    fields = _error(
        api.patch(f"/api/v1/segments/{a['id']}/", {"rule": cycle}, content_type=JSON), 400
    )["fields"]
    assert "contain itself" in fields["rule.root.children[0].segment_id"][0]
    refused = _error(api.delete(f"/api/v1/segments/{a['id']}/"), 400)
    assert refused["code"] == "refused" and "B" in refused["message"]


def test_count_and_preview_of_an_unsaved_rule(people, client_as):
    # Marketers granted to see personal data: in clear, as this test reads (masking and
    # the export's refusal without the grant: tests/privacy/test_pii_masking.py).
    personal_data.set_personal_data_roles(roles=[MARKETER])
    api = client_as(MARKETER)
    counted = api.post("/api/v1/segments/count/", {"rule": DUTCH}, content_type=JSON)
    assert counted.status_code == 200 and counted.json()["count"] == 2
    preview = api.post(
        "/api/v1/segments/preview/", {"rule": DUTCH, "limit": 1}, content_type=JSON
    ).json()
    assert preview["count"] == 2 and len(preview["sample"]) == 1
    sample = preview["sample"][0]
    assert sample["id"] in {_pid("ann"), _pid("bo")}
    assert sample["email"] in {"ann@example.org", "bo@example.org"}
    assert api.get("/api/v1/segments/count/").status_code == 405


def test_members_history_and_export(people, web, send, client_as):
    # Marketers granted to see personal data: in clear, as this test reads (masking and
    # the export's refusal without the grant: tests/privacy/test_pii_masking.py).
    personal_data.set_personal_data_roles(roles=[MARKETER])
    api = client_as(MARKETER)
    pk = api.post("/api/v1/segments/", {"name": "Dutch", "rule": DUTCH}, content_type=JSON).json()[
        "id"
    ]
    membership.recompute(Segment.objects.get(pk=pk))
    members = api.get(f"/api/v1/segments/{pk}/members/").json()
    assert {(m["profile_id"], m["name"], m["email"]) for m in members["results"]} == {
        (_pid("ann"), "Ann", "ann@example.org"),
        (_pid("bo"), "Bo", "bo@example.org"),
    }
    first = api.get(f"/api/v1/segments/{pk}/members/?limit=1").json()
    assert len(first["results"]) == 1 and first["next"]
    assert len(api.get(first["next"]).json()["results"]) == 1

    send(web, message("identify", userId="bo", minutes=5, traits={"country": "DE"}))
    membership.recompute(Segment.objects.get(pk=pk))
    history = api.get(f"/api/v1/segments/{pk}/history/?profile={_pid('bo')}").json()["results"]
    assert [h["change"] for h in history] == ["exited", "entered"]
    exits = api.get(f"/api/v1/segments/{pk}/history/?change=exited").json()["results"]
    assert [h["profile_id"] for h in exits] == [_pid("bo")]
    assert "profile" in _error(api.get(f"/api/v1/segments/{pk}/history/?profile=x"), 400)["fields"]

    exported = api.get(f"/api/v1/segments/{pk}/export/", HTTP_ACCEPT="text/csv")
    assert exported.status_code == 200 and exported.streaming
    assert exported["Content-Type"].startswith("text/csv")
    assert "segment-" in exported["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [(r["profile_id"], r["name"], r["email"]) for r in rows] == [
        (str(_pid("ann")), "Ann", "ann@example.org")
    ]
    assert rows[0]["id_user_id"] == "ann"


def test_recompute_queues_the_task(people, client_as, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.recompute_segment, "delay", lambda pk: queued.append(pk))
    api = client_as(MARKETER)
    segment = Segment.objects.create(name="Dutch", rule=DUTCH)
    with transaction.atomic(), TestCase.captureOnCommitCallbacks(execute=True):
        answer = api.post(f"/api/v1/segments/{segment.pk}/recompute/")
    assert answer.status_code == 202 and answer.json()["computing_since"]
    assert queued == [segment.pk]


def test_roles_read_and_write(client_as, make_user, client):
    segment = Segment.objects.create(name="Dutch", rule=DUTCH)
    client.force_login(make_user(VIEWER))
    assert _error(client.get("/api/v1/segments/"), 403)["code"] == "permission_denied"
    assert (
        client.post("/api/v1/segments/count/", {"rule": DUTCH}, content_type=JSON).status_code
        == 403
    )
    assert client.get(f"/api/v1/segments/{segment.pk}/export/").status_code == 403
    assert client.post(f"/api/v1/segments/{segment.pk}/recompute/").status_code == 403


def test_the_schema_still_builds_with_the_segment_endpoints(client_as):
    schema = client_as(MARKETER).get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/segments/",
        "/api/v1/segments/count/",
        "/api/v1/segments/static/",
        "/api/v1/segments/{id}/members/",
        "/api/v1/segments/{id}/upload/",
    ):
        assert path in paths


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ("?kind=nope", "kind", "Choose dynamic or static."),
        ("{pk}/history/?change=left", "change", "Choose entered or exited."),
        ("{pk}/history/?profile=-1", "profile", "A profile id."),
        ("{pk}/members/?profile=1.5", "profile", "A profile id."),
    ],
)
def test_a_bad_list_parameter_is_a_400_naming_it(client_as, query, parameter, message):
    api = client_as(MARKETER)
    segment = api.post("/api/v1/segments/", {"name": "Dutch", "rule": DUTCH}, content_type=JSON)
    response = api.get("/api/v1/segments/" + query.format(pk=segment.json()["id"]))
    assert _error(response, 400)["fields"] == {parameter: [message]}
