# ruff: noqa: F811 (pytest fixtures imported from other conftests, used as arguments)
"""The retention page and API (admins only): rules added, edited and deleted in place,
refused at their field, settings saved, the preview of the next run, "run now" and the
runs' results; every change audited."""

import re

import pytest

from cdp_site.models import AuditEntry, QueuedTask
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from profiles import tasks
from profiles.models import RetentionPolicy, RetentionRun, RetentionSettings
from tests.profiles.conftest import backend  # noqa: F401

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("role", [VIEWER, MARKETER, ACCOUNT_MANAGER])
def test_only_admins_see_or_change_retention(role, client_as):
    client = client_as(role)
    assert client.get("/profiles/retention/").status_code == 403
    form = {"event_name": "A", "keep_months": "3"}
    assert client.post("/profiles/retention/rules/add/", form).status_code == 403
    assert client.get("/api/v1/retention/policies/").status_code == 403
    assert client.post("/api/v1/retention/runs/", {}).status_code == 403
    assert not RetentionPolicy.objects.exists() and not RetentionRun.objects.exists()


def test_an_admin_adds_edits_and_deletes_a_rule_in_place(client_as, backend):
    client = client_as(ADMIN)
    page = client.get("/profiles/retention/")
    assert page.status_code == 200 and b"What the next run will remove" in page.content

    added = client.post(
        "/profiles/retention/rules/add/",
        {"source": backend.pk, "event_name": "Page Viewed", "keep_months": "3"},
        **HTMX,
    )
    assert added.status_code == 200 and b'id="retention-rules"' in added.content
    assert b"<html" not in added.content  # the partial alone
    rule = RetentionPolicy.objects.get()
    assert (rule.source_id, rule.event_name, rule.keep_months) == (backend.pk, "Page Viewed", 3)

    editing = client.get(f"/profiles/retention/rules/{rule.pk}/", **HTMX)
    assert b"Save rule" in editing.content
    whole = client.get(f"/profiles/retention/?edit={rule.pk}")  # without javascript
    assert b"Save rule" in whole.content and b"<html" in whole.content
    saved = client.post(
        f"/profiles/retention/rules/{rule.pk}/",
        {"edit-source": backend.pk, "edit-event_name": "Page Viewed", "edit-keep_months": "6"},
        **HTMX,
    )
    assert saved.status_code == 200
    rule.refresh_from_db()
    assert rule.keep_months == 6

    gone = client.post(f"/profiles/retention/rules/{rule.pk}/delete/", **HTMX)
    assert gone.status_code == 200 and not RetentionPolicy.objects.exists()
    actions = list(
        AuditEntry.objects.filter(action__startswith="retention.policy").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == [
        "retention.policy_create",
        "retention.policy_delete",
        "retention.policy_update",
    ]


def test_bad_rules_and_settings_are_refused_at_their_field(client_as):
    client = client_as(ADMIN)
    months = client.post(
        "/profiles/retention/rules/add/", {"event_name": "A", "keep_months": "0"}, **HTMX
    )
    assert months.status_code == 400
    assert b'id="id_keep_months_error"' in months.content
    html = months.content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    described = re.findall(r'aria-describedby="([^"]+)"', html)
    assert all(ref in ids for refs in described for ref in refs.split())
    scope = client.post("/profiles/retention/rules/add/", {"keep_months": "3"}, **HTMX)
    assert scope.status_code == 400 and b'id="id_event_name_error"' in scope.content
    assert b"the default" in scope.content
    bad = client.post(
        "/profiles/retention/settings/",
        {"default_months": "-1", "inactive_years": "0", "inactive_action": "anonymise"},
        **HTMX,
    )
    assert bad.status_code == 400 and b'id="id_default_months_error"' in bad.content
    assert not RetentionPolicy.objects.exists()


def test_an_admin_saves_the_settings_audited_with_before_and_after(client_as):
    client = client_as(ADMIN)
    response = client.post(
        "/profiles/retention/settings/",
        {"default_months": "13", "inactive_years": "3", "inactive_action": "delete"},
        **HTMX,
    )
    assert response.status_code == 200 and b"Saved" in response.content
    row = RetentionSettings.objects.get()
    assert (row.default_months, row.inactive_years, row.inactive_action) == (13, 3, "delete")
    entry = AuditEntry.objects.get(action="retention.settings")
    assert entry.details["before"]["default_months"] == 25
    assert entry.details["after"]["default_months"] == 13
    assert entry.actor_role == ADMIN


def test_the_preview_and_run_now_show_what_goes_and_each_runs_result(client_as):
    client = client_as(ADMIN)
    preview = client.get("/profiles/retention/preview/", **HTMX)
    assert preview.status_code == 200
    assert b"Rejected messages" in preview.content and b"7 days" in preview.content
    assert b"Journeys&#x27; step logs" in preview.content  # registered by campaigns

    without_js = client.get("/profiles/retention/preview/")
    assert b"<html" in without_js.content and b"Rejected messages" in without_js.content

    started = client.post("/profiles/retention/run/", **HTMX)
    assert started.status_code == 200 and b"running" in started.content
    run = RetentionRun.objects.get()
    assert QueuedTask.objects.filter(task="profiles.tasks.run_retention").exists()
    tasks.run_retention(run.pk)
    run.refresh_from_db()
    assert run.finished_at is not None and run.started_by is not None
    runs = client.get("/profiles/retention/runs/", **HTMX)
    assert b"done" in runs.content and b"running" not in runs.content


def test_the_api_manages_rules_settings_and_runs(client_as, backend):
    client = client_as(ADMIN)
    created = client.post(
        "/api/v1/retention/policies/",
        {"source": backend.pk, "event_name": "Order", "keep_months": 48},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert client.get("/api/v1/retention/policies/").json()["results"][0]["id"] == pk
    changed = client.patch(
        f"/api/v1/retention/policies/{pk}/", {"keep_months": 60}, content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["keep_months"] == 60
    refused = client.post(
        "/api/v1/retention/policies/",
        {"source": None, "event_name": "", "keep_months": 5},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "event_name" in refused.json()["error"]["fields"]
    too_long = client.post(
        "/api/v1/retention/policies/",
        {"event_name": "X", "keep_months": 5000},
        content_type="application/json",
    )
    assert too_long.status_code == 400 and "keep_months" in too_long.json()["error"]["fields"]
    assert client.delete(f"/api/v1/retention/policies/{pk}/").status_code == 204

    settings = client.patch(
        "/api/v1/retention/settings/", {"inactive_years": 5}, content_type="application/json"
    )
    assert settings.status_code == 200 and settings.json()["inactive_years"] == 5
    preview = client.get("/api/v1/retention/preview/").json()
    assert preview["inactive_profiles"]["years"] == 5
    assert {o["key"] for o in preview["operational"]} >= {"rejected_events", "step_logs"}

    started = client.post(
        "/api/v1/retention/runs/", {"dry_run": True}, content_type="application/json"
    )
    assert started.status_code == 202 and started.json()["dry_run"] is True
    tasks.run_retention(started.json()["id"])
    run = client.get(f"/api/v1/retention/runs/{started.json()['id']}/").json()
    assert run["finished_at"] is not None
    assert AuditEntry.objects.filter(action="retention.policy_delete").exists()
