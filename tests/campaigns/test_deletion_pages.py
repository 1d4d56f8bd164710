"""Deleting campaigns, message templates and destinations from the pages: a confirmation
that says what goes, and the services' refusals (the API's too), with what uses them."""

import pytest

from campaigns import services
from campaigns.models import Campaign, MessageTemplate
from cdp_site.permissions import ADMIN, MARKETER
from integrations.destinations import services as destinations
from integrations.destinations.models import DeadLetter, Destination

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(db):
    template = MessageTemplate.objects.create(name="Thanks", subject="Hi", body_html="<p>Hi</p>")
    mail = destinations.create_destination(
        name="Shop mail", kind="smtp", config={"host": "127.0.0.1"}
    )
    steps = [
        {"id": "mail", "type": "send_email", "template_id": template.pk, "destination_id": mail.pk}
    ]
    welcome = services.create_campaign(
        name="Welcome", kind="event", trigger_event="Signed Up", steps=steps
    )
    return {"template": template, "mail": mail, "welcome": welcome}


def test_the_message_templates_page_is_linked_from_the_campaigns(client_as):
    page = client_as(MARKETER).get("/campaigns/").text
    assert 'href="/campaigns/messages/"' in page


def test_an_active_campaign_is_refused_and_a_paused_one_goes_after_confirmation(setup, client_as):
    welcome = setup["welcome"]
    services.start_campaign(campaign=welcome)
    client = client_as(MARKETER)
    link = f'href="/campaigns/{welcome.pk}/delete/"'
    assert link not in client.get(f"/campaigns/{welcome.pk}/").text
    refused = client.get(f"/campaigns/{welcome.pk}/delete/").text
    assert "An active campaign can&#x27;t be deleted: pause or finish it first." in refused
    assert client.post(f"/campaigns/{welcome.pk}/delete/").status_code == 400

    services.pause_campaign(campaign=welcome)
    assert link in client.get(f"/campaigns/{welcome.pk}/").text
    confirm = client.get(f"/campaigns/{welcome.pk}/delete/").text
    assert "Its 0 enrollments" in confirm and "This cannot be undone." in confirm
    response = client.post(f"/campaigns/{welcome.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/campaigns/"
    assert not Campaign.objects.filter(pk=welcome.pk).exists()


def test_a_template_a_campaign_sends_is_refused_then_goes_once_the_campaign_finished(
    setup, client_as
):
    template, welcome = setup["template"], setup["welcome"]
    client = client_as(MARKETER)
    edit = client.get(f"/campaigns/messages/{template.pk}/").text
    assert f'href="/campaigns/messages/{template.pk}/delete/"' in edit
    expected = "Used by Welcome: change or finish it first."
    assert expected in client.get(f"/campaigns/messages/{template.pk}/delete/").text
    assert client.post(f"/campaigns/messages/{template.pk}/delete/").status_code == 400
    api = client.delete(f"/api/v1/campaigns/templates/{template.pk}/")
    assert api.json()["error"]["fields"] == {"template": [expected]}

    Campaign.objects.filter(pk=welcome.pk).update(status=Campaign.Status.FINISHED)
    response = client.post(f"/campaigns/messages/{template.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/campaigns/messages/"
    assert not MessageTemplate.objects.exists()


def test_a_destination_is_deleted_only_after_confirmation_and_never_while_in_use(setup, client_as):
    mail, welcome = setup["mail"], setup["welcome"]
    hook = destinations.create_destination(
        name="Hook", kind="webhook", config={"url": "http://127.0.0.1:9/"}
    )
    destinations.record_dead_letter(
        destination=hook, payload={}, idempotency_key="k", error="HTTP 500", attempts=5
    )
    client = client_as(ADMIN)

    # One click no longer deletes: the page asks first and says what goes with it.
    confirm = client.get(f"/integrations/destinations/{hook.pk}/delete/").text
    assert "Its 1 dead letters waiting for a replay are deleted with it." in confirm
    assert Destination.objects.filter(pk=hook.pk).exists()
    assert client.post(f"/integrations/destinations/{hook.pk}/delete/").status_code == 302
    assert not Destination.objects.filter(pk=hook.pk).exists()
    assert not DeadLetter.objects.exists()

    expected = "Used by campaign “Welcome”: change or finish it first."
    assert expected in client.get(f"/integrations/destinations/{mail.pk}/delete/").text
    refused = client.post(f"/integrations/destinations/{mail.pk}/delete/")
    assert refused.status_code == 400 and expected in refused.text
    api = client.delete(f"/api/v1/destinations/{mail.pk}")
    assert api.status_code == 400 and api.json()["error"]["fields"] == {"destination": [expected]}
    assert Destination.objects.filter(pk=mail.pk).exists()

    Campaign.objects.filter(pk=welcome.pk).update(status=Campaign.Status.FINISHED)
    assert client.delete(f"/api/v1/destinations/{mail.pk}").status_code == 204


def test_a_marketer_may_not_delete_a_destination(setup, client_as):
    client = client_as(MARKETER)
    assert client.get(f"/integrations/destinations/{setup['mail'].pk}/delete/").status_code == 403
