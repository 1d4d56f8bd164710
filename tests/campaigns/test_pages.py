"""Campaign pages: the list, the journey page (flow with counts per step, the editor with
errors next to the fields), the journey form's round trip, roles, and the profile panel."""

import copy
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from campaigns import selectors
from campaigns.journeys import buttons, editor, grammar
from campaigns.models import Campaign, Delivery, Enrollment, MessageTemplate
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from integrations.models import Destination
from profiles import selectors as profile_selectors
from profiles.models import Profile
from tests.campaigns.conftest import log_steps

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

EVERY_TYPE = [
    {"id": "w1", "type": "wait", "minutes": 60, "next": "w2", "label": "An hour"},
    {"id": "w2", "type": "wait", "until": "09:00", "next": "ev"},
    {
        "id": "ev",
        "type": "wait_for_event",
        "event": "Order Completed",
        "timeout_minutes": 120,
        "next": "b-seg",
        "timeout_next": "b-trait",
    },
    {
        "id": "b-seg",
        "type": "branch",
        "condition": {"type": "segment", "segment_id": 7, "member": False},
        "yes": "b-ev",
        "no": "split",
    },
    {
        "id": "b-trait",
        "type": "branch",
        "condition": {"type": "trait", "key": "country", "op": "in", "values": ["NL", "BE"]},
        "yes": "b-num",
        "no": "split",
    },
    {
        "id": "b-num",
        "type": "branch",
        "condition": {"type": "computed", "key": "ltv", "op": "gt", "value": 99.5},
        "yes": "b-ev",
        "no": "b-custom",
    },
    {
        "id": "b-ev",
        "type": "branch",
        "condition": {"type": "event_since_entry", "name": "Order Completed"},
        "yes": "done",
        "no": "mail",
    },
    {
        "id": "b-custom",
        "type": "branch",
        "condition": {
            "type": "event",
            "name": "Product Viewed",
            "count": {"op": "at_least", "value": 2},
            "window": {"last_days": 14},
        },
        "yes": "mail",
        "no": "done",
    },
    {
        "id": "split",
        "type": "split",
        "variants": [
            {"name": "A", "percent": 45, "next": "mail"},
            {"name": "B", "percent": 45, "next": "aud"},
            {"name": "holdout", "percent": 10, "holdout": True},
        ],
    },
    {"id": "mail", "type": "send_email", "template_id": 3, "destination_id": 4, "next": "aud"},
    {"id": "aud", "type": "audience", "destination_id": 5, "action": "remove", "next": "hook"},
    {"id": "hook", "type": "webhook", "destination_id": 6, "next": "esp"},
    {
        "id": "esp",
        "type": "esp_list",
        "destination_id": 8,
        "action": "unsubscribe",
        "next": "trait",
    },
    {"id": "trait", "type": "set_trait", "key": "nurtured", "value": "yes", "next": "trait2"},
    {"id": "trait2", "type": "set_trait", "key": "score", "value": 3},
    {"id": "done", "type": "exit"},
]


def test_every_step_type_round_trips_through_the_form_fields():
    grammar.validate(EVERY_TYPE)
    fields = editor.steps_to_fields(EVERY_TYPE)
    assert all(isinstance(v, str) for v in fields.values())
    assert editor.fields_to_steps(fields) == EVERY_TYPE
    assert fields["steps[4].cond_type"] == "trait"
    assert fields["steps[7].cond_type"] == "custom"


def test_editing_actions_keep_the_links_whole():
    steps = copy.deepcopy(EVERY_TYPE[-7:])  # mail, aud, hook, esp, trait, trait2, done
    buttons.apply_action(steps, "remove:1")  # aud: mail now leads to hook
    assert steps[0]["next"] == "hook"
    buttons.apply_action(steps, "add", add_type="wait")
    assert steps[-1]["type"] == "wait" and steps[-1]["id"] == "wait-1"
    buttons.apply_action(steps, "up:1")
    assert [s["id"] for s in steps[:2]] == ["hook", "mail"]
    # No link points at a missing step; moving "hook" first only leaves steps unreached,
    # which the grammar reports (journeys start at their first step).
    with pytest.raises(grammar.StepsError) as caught:
        grammar.validate(steps)
    assert caught.value.errors
    assert all(e["message"].startswith("Nothing leads to") for e in caught.value.errors)


@pytest.fixture
def campaign(db):
    return Campaign.objects.create(
        name="Cart",
        kind=Campaign.Kind.EVENT,
        trigger_event="Checkout Started",
        goal_event="Order Completed",
        steps=[
            {"id": "wait", "type": "wait", "minutes": 60, "next": "await"},
            {
                "id": "await",
                "type": "wait_for_event",
                "event": "Order Completed",
                "timeout_minutes": 60,
                "next": "ordered",
                "timeout_next": "mail",
            },
            {"id": "ordered", "type": "exit"},
            {"id": "mail", "type": "set_trait", "key": "reminded", "value": "yes"},
        ],
    )


def enroll(campaign, profile_id, *, state, step_id, log=(), converted=False):
    e = Enrollment.objects.create(
        campaign=campaign,
        profile_id=profile_id,
        state=state,
        step_id=step_id,
        entered_at=T0,
        converted_at=T0 + timedelta(hours=3) if converted else None,
    )
    log_steps(e, *log, at=T0, every=timedelta(minutes=1))
    return e


def test_counts_per_step_from_enrollments_and_the_step_log(campaign):
    enroll(campaign, 1, state="active", step_id="wait")
    enroll(campaign, 2, state="waiting_event", step_id="await", log=[("wait", "passed")])
    enroll(
        campaign,
        3,
        state="converted",
        step_id="ordered",
        converted=True,
        log=[("wait", "passed"), ("await", "event")],
    )
    enroll(
        campaign, 4, state="exited", step_id="await", log=[("wait", "passed"), ("await", "waiting")]
    )
    enroll(
        campaign,
        5,
        state="completed",
        step_id="mail",
        log=[("wait", "passed"), ("await", "timed_out"), ("mail", "passed")],
    )
    counts = selectors.step_counts(campaign)
    assert counts["wait"]["waiting"] == 1 and counts["wait"]["passed"] == 4
    assert counts["await"]["waiting"] == 1 and counts["await"]["exited"] == 1
    assert counts["await"]["passed"] == 2
    assert counts["await"]["outcomes"] == {"event": 1, "timed_out": 1}
    assert counts["ordered"]["converted"] == 1
    assert counts["mail"]["passed"] == 1
    totals = selectors.totals(campaign)
    assert (totals["entered"], totals["active"], totals["converted"]) == (5, 2, 1)
    [row] = selectors.campaign_list()
    assert (row.entered, row.active, row.converted) == (5, 2, 1)
    assert row.last_activity == T0 + timedelta(minutes=2)


def test_journey_page_draws_the_steps_with_their_counts(client_as, campaign):
    enroll(campaign, 1, state="active", step_id="wait")
    client = client_as(MARKETER)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'class="flow-box flow-wait" data-step="wait"' in page
    assert 'data-step="mail"' in page and "flow-arrow" in page
    assert "1 waiting" in page
    assert 'name="steps[1].timeout_minutes" value="60"' in page
    flow = client.get(reverse("campaigns:flow", args=[campaign.pk])).content.decode()
    assert flow.startswith('\n<section id="flow"') or '<section id="flow"' in flow[:200]
    assert "<html" not in flow
    listing = client.get(reverse("campaigns:index")).content.decode()
    assert "Cart" in listing and "From the gallery" in listing


def _post_data(campaign, steps, **extra):
    data = {
        "name": campaign.name,
        "description": "",
        "kind": campaign.kind,
        "trigger_event": campaign.trigger_event,
        "entry": "once",
        "goal_event": "",
        "conversion_window_days": "7",
        "segment": "",
        "cooldown_days": "",
        "scheduled_at": "",
    }
    data.update(editor.steps_to_fields(steps))
    data.update(extra)
    return data


def test_a_send_time_with_an_offset_no_time_zone_has_is_a_field_error(client_as, campaign):
    client = client_as(MARKETER)
    url = reverse("campaigns:detail", args=[campaign.pk])
    data = _post_data(
        campaign, campaign.steps, _action="save", scheduled_at="2027-01-01T09:00+16:00"
    )
    response = client.post(url, data)
    assert response.status_code == 400
    assert "between -14:00 and +14:00" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.scheduled_at is None


def test_editor_errors_are_shown_next_to_their_fields_and_nothing_is_saved(client_as, campaign):
    client = client_as(MARKETER)
    url = reverse("campaigns:detail", args=[campaign.pk])
    data = _post_data(campaign, campaign.steps, _action="save")
    data["steps[1].timeout_minutes"] = "soon"
    data["steps[0].next"] = "nowhere"
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "Not saved: 2 problems to fix" in page
    field = 'id="f-steps-1-timeout-minutes" name="steps[1].timeout_minutes" value="soon"'
    assert field in page
    assert 'id="f-steps-1-timeout-minutes-error" role="alert">Enter how many minutes' in page
    assert "No step is called nowhere." in page
    campaign.refresh_from_db()
    assert campaign.steps[1]["timeout_minutes"] == 60


def test_marketer_changes_the_wait_and_adds_a_step(client_as, campaign):
    client = client_as(MARKETER)
    url = reverse("campaigns:detail", args=[campaign.pk])
    data = _post_data(campaign, campaign.steps, _action="add", _add_type="set_trait")
    page = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="steps[4].type"' in page and 'value="set_trait-1"' in page
    data = _post_data(campaign, campaign.steps, _action="save")
    data["steps[0].minutes"] = "30"
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 204, response.content.decode()[:2000]
    assert response["HX-Redirect"].startswith(url)
    campaign.refresh_from_db()
    assert campaign.steps[0] == {"id": "wait", "type": "wait", "minutes": 30, "next": "await"}


def test_settings_errors_from_the_form(client_as, campaign):
    client = client_as(MARKETER)
    url = reverse("campaigns:detail", args=[campaign.pk])
    data = _post_data(campaign, campaign.steps, _action="save", trigger_event="")
    page = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "Name the event that starts the journey." in page
    campaign.refresh_from_db()
    assert campaign.trigger_event == "Checkout Started"


def test_start_refuses_an_email_without_destination_then_pause_and_resume(client_as, db):
    template = MessageTemplate.objects.create(name="Hi", subject="Hi", body_html="<p>Hi</p>")
    campaign = Campaign.objects.create(
        name="Mail",
        kind=Campaign.Kind.EVENT,
        trigger_event="Signed Up",
        steps=[
            {"id": "mail", "type": "send_email", "template_id": template.pk, "destination_id": None}
        ],
    )
    client = client_as(MARKETER)
    response = client.post(reverse("campaigns:start", args=[campaign.pk]))
    assert response.status_code == 400
    assert "Choose a destination." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    smtp = Destination.objects.create(name="Mail", kind=Destination.Kind.SMTP)
    campaign.steps[0]["destination_id"] = smtp.pk
    campaign.save()
    assert client.post(reverse("campaigns:start", args=[campaign.pk])).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "active"
    client.post(reverse("campaigns:pause", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    client.post(reverse("campaigns:resume", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == "active"


def test_new_campaign_form_creates_a_draft(client_as):
    client = client_as(MARKETER)
    response = client.post(
        reverse("campaigns:new"),
        {
            "name": "Welcome",
            "kind": "event",
            "trigger_event": "Signed Up",
            "entry": "once",
            "conversion_window_days": "7",
        },
    )
    campaign = Campaign.objects.get(name="Welcome")
    assert response.status_code == 302 and response["Location"].endswith(f"/{campaign.pk}/")
    assert campaign.status == "draft"
    grammar.validate(campaign.steps)


@pytest.mark.parametrize("role", [VIEWER, ACCOUNT_MANAGER])
def test_roles_without_campaigns_get_403(client_as, campaign, role):
    client = client_as(role)
    for url in (
        reverse("campaigns:index"),
        reverse("campaigns:detail", args=[campaign.pk]),
        reverse("campaigns:gallery"),
    ):
        assert client.get(url).status_code == 403
    response = client.post(reverse("campaigns:detail", args=[campaign.pk]), {"_action": "save"})
    assert response.status_code == 403
    assert client.post(reverse("campaigns:start", args=[campaign.pk])).status_code == 403


@pytest.mark.parametrize("role", [MARKETER, ADMIN])
def test_marketers_and_admins_see_the_editor(client_as, campaign, role):
    page = client_as(role).get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'id="journey-form"' in page and "Start</button>" in page


def test_profile_panel_lists_enrollments_and_deliveries(client_as, campaign):

    profile = Profile.objects.create()
    enroll(campaign, profile.pk, state="waiting_event", step_id="await", log=[("wait", "passed")])
    Delivery.objects.create(
        idempotency_key="k1",
        campaign=campaign,
        profile_id=profile.pk,
        step_id="mail",
        channel="email",
        status="skipped",
        reason="over the frequency cap",
    )
    client = client_as(ACCOUNT_MANAGER)
    page = client.get(reverse("campaigns:profile-panel", args=[profile.pk])).content.decode()
    assert "Cart" in page and "await" in page and "Waiting for an event" in page
    assert "skipped" in page and "over the frequency cap" in page
    assert f'href="/campaigns/{campaign.pk}/"' not in page  # no campaigns access


def test_journey_entries_appear_in_the_timeline_and_the_profile_page_loads_the_panel(
    client_as, campaign
):

    profile = Profile.objects.create()
    enroll(campaign, profile.pk, state="active", step_id="wait")
    assert "journey-entered" in profile_selectors.timeline_kinds()
    page = profile_selectors.timeline(profile=profile, kinds=["journey-entered"])
    assert [item.title for item in page.items] == ["Entered journey “Cart”"]
    client = client_as(MARKETER)
    detail = client.get(reverse("profiles:detail", args=[profile.pk])).content.decode()
    assert reverse("campaigns:profile-panel", args=[profile.pk]) in detail


def test_the_journey_page_embeds_the_results_panel(client_as, campaign):
    page = client_as(MARKETER).get(reverse("campaigns:detail", args=[campaign.pk]))
    assert f"/campaigns/{campaign.pk}/results/panel/" in page.content.decode()
