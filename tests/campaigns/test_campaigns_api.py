"""REST API of campaigns: CRUD with journey errors at their fields, start / pause / resume
/ finish, enrollments and deliveries with filters, results and counts, message
templates, and roles."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from campaigns.models import Campaign, Delivery, Enrollment, MessageTemplate
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from segments.models import Segment
from tests.campaigns.conftest import log_steps

pytestmark = pytest.mark.django_db
JSON = "application/json"
URL = "/api/v1/campaigns/"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
STEPS = [
    {"id": "wait", "type": "wait", "minutes": 60, "next": "done"},
    {"id": "done", "type": "exit"},
]
CART = {"name": "Cart", "kind": "event", "trigger_event": "Cart Abandoned", "steps": STEPS}


def _error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def _ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def _campaign(**fields) -> Campaign:
    values = {
        "name": "Cart",
        "kind": Campaign.Kind.EVENT,
        "trigger_event": "Cart Abandoned",
        "steps": STEPS,
        **fields,
    }
    return Campaign.objects.create(**values)


# --- campaigns ------------------------------------------------------------------------


def test_create_list_get_update_and_delete(client_as):
    api = client_as(MARKETER)
    body = _ok(api.post(URL, {**CART, "goal_event": "Order Completed"}, content_type=JSON), 201)
    assert body["status"] == "draft" and body["kind"] == "event" and body["steps"] == STEPS
    assert body["created_by"] == "marketer@example.org" and body["entry"] == "once"
    assert body["goal_event"] == "Order Completed" and body["conversion_window_days"] == 7
    pk = body["id"]
    segment = Segment.objects.create(name="Dutch", rule={})
    broadcast = _ok(
        api.post(
            URL,
            {"name": "News", "kind": "broadcast", "segment": segment.pk, "steps": STEPS},
            content_type=JSON,
        ),
        201,
    )

    listed = _ok(api.get(URL))["results"]
    assert [c["id"] for c in listed] == [broadcast["id"], pk]  # newest first
    assert [c["id"] for c in _ok(api.get(f"{URL}?kind=event"))["results"]] == [pk]
    assert _ok(api.get(f"{URL}?status=active"))["results"] == []
    assert len(_ok(api.get(f"{URL}?status=draft&limit=1"))["results"]) == 1
    assert "status" in _error(api.get(f"{URL}?status=nope"), 400)["fields"]
    assert "kind" in _error(api.get(f"{URL}?kind=nope"), 400)["fields"]
    assert _ok(api.get(f"{URL}{pk}/"))["trigger_event"] == "Cart Abandoned"

    patched = _ok(api.patch(f"{URL}{pk}/", {"name": "Cart reminder"}, content_type=JSON))
    assert patched["name"] == "Cart reminder" and patched["steps"] == STEPS
    assert patched["goal_event"] == "Order Completed"
    put = _ok(
        api.put(
            f"{URL}{pk}/",
            {"name": "Cart 2", "kind": "event", "trigger_event": "X", "steps": STEPS[1:]},
            content_type=JSON,
        )
    )
    assert put["steps"] == STEPS[1:] and put["trigger_event"] == "X"
    assert put["goal_event"] == "Order Completed"  # left out: kept
    fields = _error(api.put(f"{URL}{pk}/", {"name": "x"}, content_type=JSON), 400)["fields"]
    assert set(fields) == {"kind", "steps"}

    assert api.delete(f"{URL}{pk}/").status_code == 204
    assert not Campaign.objects.filter(pk=pk).exists()
    assert _error(api.get(f"{URL}{pk}/"), 404)["code"] == "not_found"


def test_journey_and_entry_errors_are_keyed_by_their_field(client_as):
    api = client_as(MARKETER)
    bad_steps = [
        {"id": "wait", "type": "wait", "minutes": 60, "next": "ask"},
        {"id": "ask", "type": "wait_for_event", "event": "Order Completed", "next": "nowhere"},
    ]
    fields = _error(
        api.post(URL, {"name": "Bad", "kind": "event", "steps": bad_steps}, content_type=JSON), 400
    )["fields"]
    assert fields == {
        "steps[1].timeout_minutes": ["Enter how many minutes to wait at most."],
        "steps[1].next": ["No step is called nowhere."],
        "trigger_event": ["Choose the event that starts it."],
    }
    broadcast = {"name": "Bad", "kind": "broadcast", "steps": [], "entry": "cooldown"}
    fields = _error(api.post(URL, broadcast, content_type=JSON), 400)["fields"]
    assert fields == {
        "steps": ["A journey needs at least one step."],
        "segment": ["Choose a segment."],
        "cooldown_days": ["Enter the days before re-entry."],
    }
    fields = _error(
        api.post(URL, {"name": "", "kind": "nope", "segment": 999999}, content_type=JSON), 400
    )["fields"]
    assert set(fields) == {"name", "kind", "segment", "steps"}
    assert not Campaign.objects.exists()

    campaign = _campaign()
    broken = [{"id": "ask", "type": "wait_for_event", "event": "Order Completed"}]
    fields = _error(api.patch(f"{URL}{campaign.pk}/", {"steps": broken}, content_type=JSON), 400)[
        "fields"
    ]
    assert fields == {"steps[0].timeout_minutes": ["Enter how many minutes to wait at most."]}
    campaign.refresh_from_db()
    assert campaign.steps == STEPS  # nothing saved


def test_start_pause_resume_finish_and_refused_transitions(client_as):
    api = client_as(MARKETER)
    campaign = _campaign()
    pk = campaign.pk
    Enrollment.objects.create(campaign=campaign, profile_id=1, entered_at=T0, step_id="wait")

    started = _ok(api.post(f"{URL}{pk}/start/"))
    assert started["status"] == "active" and started["started_at"]
    assert _error(api.post(f"{URL}{pk}/start/"), 400)["fields"] == {
        "status": ["Only a draft can be started."]
    }
    assert _error(api.post(f"{URL}{pk}/resume/"), 400)["fields"] == {
        "status": ["A active campaign can't be active."]
    }
    refused = _error(api.delete(f"{URL}{pk}/"), 400)
    assert refused["fields"]["status"] == [
        "An active campaign can't be deleted: pause or finish it first."
    ]
    assert Campaign.objects.filter(pk=pk).exists()

    assert _ok(api.post(f"{URL}{pk}/pause/"))["status"] == "paused"
    assert "status" in _error(api.post(f"{URL}{pk}/pause/"), 400)["fields"]
    assert _ok(api.post(f"{URL}{pk}/resume/"))["status"] == "active"
    assert _ok(api.post(f"{URL}{pk}/finish/"))["status"] == "finished"
    assert Enrollment.objects.get(campaign=campaign).state == Enrollment.State.EXITED
    assert "status" in _error(api.post(f"{URL}{pk}/finish/"), 400)["fields"]
    assert _error(api.post(f"{URL}999999/start/"), 404)["code"] == "not_found"
    assert api.delete(f"{URL}{pk}/").status_code == 204  # a finished one can go


def test_a_paused_campaign_can_be_deleted_and_an_invalid_one_cannot_start(client_as):
    api = client_as(MARKETER)
    paused = _campaign(status=Campaign.Status.PAUSED)
    assert api.delete(f"{URL}{paused.pk}/").status_code == 204
    invalid = _campaign(trigger_event="")
    assert _error(api.post(f"{URL}{invalid.pk}/start/"), 400)["fields"] == {
        "trigger_event": ["Choose the event that starts it."]
    }
    invalid.refresh_from_db()
    assert invalid.status == Campaign.Status.DRAFT


# --- people and messages of a campaign ------------------------------------------------


@pytest.fixture
def journey():
    """Three people in a campaign: 1 waiting, 2 completed (mailed), 3 failed (skipped)."""
    campaign = _campaign(status=Campaign.Status.ACTIVE)
    other = _campaign(name="Other")
    rows = [
        (1, Enrollment.State.ACTIVE, "wait"),
        (2, Enrollment.State.COMPLETED, "done"),
        (3, Enrollment.State.FAILED, "done"),
    ]
    for profile_id, state, step_id in rows:
        enrollment = Enrollment.objects.create(
            campaign=campaign,
            profile_id=profile_id,
            entered_at=T0,
            state=state,
            step_id=step_id,
        )
        log_steps(enrollment, ("wait", "passed"), at=T0)
        if profile_id > 1:
            Delivery.objects.create(
                idempotency_key=f"k{profile_id}",
                campaign=campaign,
                enrollment=enrollment,
                profile_id=profile_id,
                step_id="done",
                channel=Delivery.Channel.EMAIL,
                status=Delivery.Status.SENT if profile_id == 2 else Delivery.Status.SKIPPED,
                sent_at=T0 if profile_id == 2 else None,
                reason="" if profile_id == 2 else "No e-mail consent",
            )
    Delivery.objects.create(
        idempotency_key="hook",
        campaign=campaign,
        profile_id=2,
        step_id="done",
        channel=Delivery.Channel.WEBHOOK,
    )
    Enrollment.objects.create(campaign=other, profile_id=1, entered_at=T0)
    return campaign


def test_enrollments_are_listed_with_filters(client_as, journey):
    api = client_as(MARKETER)
    url = f"{URL}{journey.pk}/enrollments/"
    listed = _ok(api.get(url))["results"]
    assert [e["profile_id"] for e in listed] == [3, 2, 1]  # newest first, this campaign only
    assert listed[2]["state"] == "active" and listed[2]["step_id"] == "wait"
    assert [e["profile_id"] for e in _ok(api.get(f"{url}?state=completed"))["results"]] == [2]
    assert [e["state"] for e in _ok(api.get(f"{url}?profile=3"))["results"]] == ["failed"]
    page = _ok(api.get(f"{url}?limit=2"))
    assert len(page["results"]) == 2 and page["next"]
    assert [e["profile_id"] for e in _ok(api.get(page["next"]))["results"]] == [1]
    assert "state" in _error(api.get(f"{url}?state=nope"), 400)["fields"]
    assert "profile" in _error(api.get(f"{url}?profile=x"), 400)["fields"]
    assert _error(api.get(f"{URL}999999/enrollments/"), 404)["code"] == "not_found"


def test_deliveries_are_listed_with_filters(client_as, journey):
    api = client_as(MARKETER)
    url = f"{URL}{journey.pk}/deliveries/"
    listed = _ok(api.get(url))["results"]
    assert [(d["profile_id"], d["channel"], d["status"]) for d in listed] == [
        (2, "webhook", "pending"),
        (3, "email", "skipped"),
        (2, "email", "sent"),
    ]
    assert listed[1]["reason"] == "No e-mail consent" and listed[1]["enrollment"]
    assert [d["status"] for d in _ok(api.get(f"{url}?status=skipped"))["results"]] == ["skipped"]
    assert [d["channel"] for d in _ok(api.get(f"{url}?channel=webhook"))["results"]] == ["webhook"]
    assert len(_ok(api.get(f"{url}?profile=2&channel=email"))["results"]) == 1
    assert "channel" in _error(api.get(f"{url}?channel=fax"), 400)["fields"]
    assert "status" in _error(api.get(f"{url}?status=nope"), 400)["fields"]


def test_results_and_counts_as_json(client_as, journey):
    api = client_as(MARKETER)
    results = _ok(api.get(f"{URL}{journey.pk}/results/"))
    assert results["campaign_id"] == journey.pk and results["entered"] == 3
    assert results["states"] == {"active": 1, "completed": 1, "failed": 1}
    assert results["deliveries"]["total"] == 3 and results["deliveries"]["skipped"] == 1
    assert results["deliveries"]["sent"] == 1 and results["deliveries"]["pending"] == 1
    assert results["skip_reasons"] == [{"reason": "No e-mail consent", "count": 1}]
    assert [s["id"] for s in results["steps"]] == ["wait", "done"]
    assert results["steps"][0]["reached"] == 3
    assert [v["label"] for v in results["variants"]] == ["All"]
    lift = results["lift"]
    assert lift["treated_n"] == 3 and lift["holdout_n"] == 0
    assert lift["ci_low"] is None and lift["ci_high"] is None and not lift["enough"]
    assert "No holdout" in lift["note"]

    counts = _ok(api.get(f"{URL}{journey.pk}/counts/"))
    assert counts["enrolled"] == 3 and counts["converted"] == 0
    assert counts["steps"]["wait"] == {"outcomes": {"passed": 3}, "now": 1, "deliveries": {}}
    assert counts["steps"]["done"]["deliveries"] == {"sent": 1, "skipped": 1, "pending": 1}


def test_results_carry_the_lift_with_its_interval(client_as):
    campaign = _campaign(status=Campaign.Status.ACTIVE)
    for i in range(300):
        holdout = i >= 200
        converted = (i < 40) or (200 <= i < 210)
        Enrollment.objects.create(
            campaign=campaign,
            profile_id=i + 1,
            entered_at=T0,
            holdout=holdout,
            variant="holdout" if holdout else "A",
            state=Enrollment.State.COMPLETED,
            converted_at=T0 if converted else None,
        )
    lift = _ok(client_as(MARKETER).get(f"{URL}{campaign.pk}/results/"))["lift"]
    assert lift["enough"] and lift["significant"]
    assert lift["difference"] == pytest.approx(0.10)
    assert lift["ci_low"] == pytest.approx(0.019187, abs=1e-5)
    assert lift["ci_low"] < lift["difference"] < lift["ci_high"]


# --- message templates ----------------------------------------------------------------


def test_templates_crud_with_syntax_errors_at_their_field(client_as):
    api = client_as(MARKETER)
    url = f"{URL}templates/"
    cart = {"name": "Cart", "subject": "Hi {{ traits.firstName }}", "body_html": "<p>Come back</p>"}
    made = _ok(api.post(url, cart, content_type=JSON), 201)
    assert made["body_text"] == "" and made["subject"] == "Hi {{ traits.firstName }}"
    pk = made["id"]
    assert [t["id"] for t in _ok(api.get(url))["results"]] == [pk]
    assert _ok(api.get(f"{url}{pk}/"))["name"] == "Cart"

    fields = _error(
        api.post(
            url,
            {"name": "Bad", "subject": "Hi {{ x|nope }}", "body_html": "<p>\n{% if x %}</p>"},
            content_type=JSON,
        ),
        400,
    )["fields"]
    assert set(fields) == {"subject", "body_html"}
    assert fields["body_html"][0].startswith("Line 2")
    assert set(_error(api.post(url, {}, content_type=JSON), 400)["fields"]) == {
        "name",
        "subject",
        "body_html",
    }
    assert MessageTemplate.objects.count() == 1

    patched = _ok(api.patch(f"{url}{pk}/", {"body_text": "Come back"}, content_type=JSON))
    assert patched["body_text"] == "Come back" and patched["body_html"] == "<p>Come back</p>"
    fields = _error(
        api.patch(f"{url}{pk}/", {"body_text": "{% load x %}"}, content_type=JSON), 400
    )["fields"]
    assert set(fields) == {"body_text"}
    assert MessageTemplate.objects.get(pk=pk).body_text == "Come back"

    mail = {"id": "mail", "type": "send_email", "template_id": pk, "destination_id": 1}
    used = _campaign(name="Welcome", steps=[mail])
    refused = _error(api.delete(f"{url}{pk}/"), 400)
    assert refused["fields"] == {"template": ["Used by Welcome: change or finish it first."]}
    used.status = Campaign.Status.FINISHED
    used.save()
    assert api.delete(f"{url}{pk}/").status_code == 204
    assert _error(api.get(f"{url}{pk}/"), 404)["code"] == "not_found"


# --- roles ----------------------------------------------------------------------------


def _as(make_user, role) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def test_roles_read_and_write(make_user, journey):
    template = MessageTemplate.objects.create(name="T", subject="s", body_html="b")
    pk = journey.pk
    reads = [
        URL,
        f"{URL}{pk}/",
        f"{URL}{pk}/enrollments/",
        f"{URL}{pk}/deliveries/",
        f"{URL}{pk}/results/",
        f"{URL}{pk}/counts/",
        f"{URL}templates/",
        f"{URL}templates/{template.pk}/",
    ]
    posts = [
        URL,
        f"{URL}{pk}/start/",
        f"{URL}{pk}/pause/",
        f"{URL}{pk}/resume/",
        f"{URL}{pk}/finish/",
        f"{URL}templates/",
    ]
    changes = [
        ("patch", f"{URL}{pk}/"),
        ("put", f"{URL}{pk}/"),
        ("delete", f"{URL}{pk}/"),
        ("patch", f"{URL}templates/{template.pk}/"),
        ("delete", f"{URL}templates/{template.pk}/"),
    ]

    viewer = _as(make_user, VIEWER)
    for url in reads + posts:
        assert _error(viewer.get(url) if url in reads else viewer.post(url), 403)["code"] == (
            "permission_denied"
        ), url
    # The role matrix grants an account manager no campaign capability: reads are 403 too.
    manager = _as(make_user, ACCOUNT_MANAGER)
    for url in reads:
        assert manager.get(url).status_code == 403, url
    for url in posts:
        assert manager.post(url, {}, content_type=JSON).status_code == 403, url
    for method, url in changes:
        assert getattr(manager, method)(url, {}, content_type=JSON).status_code == 403, url
    journey.refresh_from_db()
    assert journey.status == Campaign.Status.ACTIVE and MessageTemplate.objects.exists()

    marketer = _as(make_user, MARKETER)
    for url in reads:
        assert marketer.get(url).status_code == 200, url
    assert _ok(marketer.post(f"{URL}{pk}/pause/"))["status"] == "paused"
    assert _ok(_as(make_user, ADMIN).post(f"{URL}{pk}/resume/"))["status"] == "active"


def test_the_schema_builds_with_the_campaign_endpoints(client_as):
    schema = client_as(MARKETER).get("/api/schema/?format=json")
    assert schema.status_code == 200
    body = schema.json()
    paths = body["paths"]
    for path in (
        "",
        "{id}/",
        "{id}/start/",
        "{id}/enrollments/",
        "{id}/deliveries/",
        "{id}/results/",
        "{id}/counts/",
        "templates/",
        "templates/{id}/",
    ):
        assert f"/api/v1/campaigns/{path}" in paths
    assert "CampaignKindEnum" in body["components"]["schemas"]
    lift = body["components"]["schemas"]["Lift"]["properties"]
    assert {"ci_low", "ci_high", "difference"} <= set(lift)
