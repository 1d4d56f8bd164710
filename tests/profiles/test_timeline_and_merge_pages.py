"""The customer timeline on the profile page: an event's properties (expandable,
escaped), the messages campaigns sent, opened, clicked or skipped (a source campaigns
register), dates from and to; and a manual merge from the page, through the same
service as the API's."""

import re
from datetime import timedelta

import pytest

from campaigns.models import Campaign, Delivery, MessageTemplate
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER
from profiles import selectors
from profiles.models import Merge

from .conftest import T0, message, profile_of

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def items(html: str) -> list[str]:
    """The timeline items' titles, in order."""
    return re.findall(r'<span class="timeline-title">([^<]*)</span>', html)


@pytest.fixture
def ann(web, send):
    send(
        web,
        message(
            "identify", userId="w-ann", traits={"email": "ann@example.org", "firstName": "Ann"}
        ),
    )
    return profile_of("user_id", "w-ann")


def test_an_events_properties_open_below_it_escaped(ann, web, send, client_as):
    order = {
        "order_id": "o-1",
        "total": 99.5,
        "products": [{"name": "<script>alert(1)</script> Jacket", "qty": 1}],
    }
    send(web, message(userId="w-ann", event="Order Completed", minutes=5, properties=order))
    send(
        web,
        message("page", userId="w-ann", minutes=6, name="Pricing", properties={"path": "/pricing"}),
    )
    html = client_as(ACCOUNT_MANAGER).get(f"/profiles/{ann.pk}/").text
    first = html.split('class="timeline-item')[1]  # the newest: the page view
    assert "<summary>Properties (1)</summary>" in first and "/pricing" in first
    order_item = next(
        i
        for i in html.split('class="timeline-item')
        if 'data-kind="event"' in i and "Order Completed" in i
    )
    assert "<summary>Properties (3)</summary>" in order_item
    assert "<code>order_id</code></dt><dd>o-1</dd>" in order_item
    assert '<pre class="json">[' in order_item  # the products, as JSON
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Jacket" in order_item
    assert "<script>alert(1)" not in html


@pytest.fixture
def messages_to_ann(ann):
    """Four deliveries of a campaign to Ann: sent, sent and opened and clicked, skipped."""
    campaign = Campaign.objects.create(name="Welcome", kind="event", trigger_event="X")
    template = MessageTemplate.objects.create(name="Hello", subject="Hi", body_html="<p>Hi</p>")
    common = {
        "campaign": campaign,
        "profile_id": ann.pk,
        "step_id": "mail",
        "template": template,
        "channel": Delivery.Channel.EMAIL,
    }
    Delivery.objects.create(idempotency_key="a", status="sent", sent_at=T0, **common)
    Delivery.objects.create(
        idempotency_key="b",
        status="sent",
        sent_at=T0 + timedelta(hours=1),
        opened_at=T0 + timedelta(hours=2),
        clicked_at=T0 + timedelta(hours=3),
        **common,
    )
    skipped = Delivery.objects.create(
        idempotency_key="c", status="skipped", **common, reason="no consent for e-mail marketing"
    )
    Delivery.objects.filter(pk=skipped.pk).update(created_at=T0 + timedelta(hours=4))
    return campaign


def test_messages_sent_opened_clicked_and_skipped_are_in_the_timeline(
    ann, messages_to_ann, client_as
):
    kinds = [i.kind for i in selectors.timeline(profile=ann, limit=100).items]
    expected = [
        "message-skipped",
        "message-clicked",
        "message-opened",
        "message-sent",
        "message-sent",
    ]
    assert [k for k in kinds if k.startswith("message-")] == expected
    client = client_as(ACCOUNT_MANAGER)
    page = client.get(f"/profiles/{ann.pk}/").text
    assert "E-mail “Hello” clicked · campaign “Welcome”" in page
    assert '<option value="message-skipped">Messages skipped</option>' in page
    skipped = client.get(f"/profiles/{ann.pk}/timeline/?type=message-skipped", **HTMX).text
    assert items(skipped) == ["E-mail “Hello” skipped · campaign “Welcome”"]
    assert "no consent for e-mail marketing" in skipped


def test_the_dates_keep_the_days_asked_for_on_the_page_and_in_the_api(ann, web, send, client_as):
    for day in range(5):  # one event a day, 1 to 5 November
        send(web, message(userId="w-ann", event=f"Day {day + 1}", minutes=day * 24 * 60))
    client = client_as(ACCOUNT_MANAGER)
    url = f"/profiles/{ann.pk}/timeline/?since=2026-11-02&until=2026-11-04"
    shown = items(client.get(url, **HTMX).text)
    assert [t for t in shown if t.startswith("Day")] == ["Day 4", "Day 3", "Day 2"]
    api = client.get(f"/api/v1/profiles/{ann.pk}/timeline/?since=2026-11-02&until=2026-11-04")
    titles = [i["title"] for i in api.json()["results"] if i["title"].startswith("Day")]
    assert titles == ["Day 3", "Day 2"]  # the API's until is a moment: before 4 November
    assert client.get(f"/api/v1/profiles/{ann.pk}/timeline/?since=soon").status_code == 400
    backwards = client.get(
        f"/profiles/{ann.pk}/timeline/?since=2026-11-04&until=2026-11-02", **HTMX
    ).text
    assert "To: The end comes before the start." in backwards and items(backwards) == []


def test_pages_within_dates_hold_every_item_once(ann, web, send):
    for i in range(30):
        send(web, message(userId="w-ann", event=f"E{i}", minutes=i * 60))
    since, until = T0 + timedelta(hours=5), T0 + timedelta(hours=20)
    everything = selectors.timeline(profile=ann, limit=1000).items
    expected = [(i.kind, i.id) for i in everything if since <= i.time < until]
    seen, cursor = [], None
    while True:
        page = selectors.timeline(profile=ann, before=cursor, since=since, until=until, limit=4)
        seen += [(i.kind, i.id) for i in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected and len(expected) == 15


@pytest.fixture
def twins(web, crm, send):
    """One person as two profiles no rule joined: a web account and a CRM record."""
    send(
        web,
        message("identify", userId="w-bo", traits={"email": "bo@example.org", "firstName": "Bo"}),
    )
    send(
        crm,
        message(
            "identify", userId="CRM-5", traits={"email": "bo.work@example.org", "firstName": "Bo"}
        ),
    )
    return profile_of("user_id", "w-bo"), profile_of("crm_id", "CRM-5")


def test_an_account_manager_merges_two_profiles_after_comparing_them(twins, client_as):
    web_bo, crm_bo = twins
    client = client_as(ACCOUNT_MANAGER)
    page = client.get(f"/profiles/{web_bo.pk}/").text
    assert f'action="/profiles/{web_bo.pk}/merge/"' in page
    found = client.get(f"/profiles/{web_bo.pk}/merge/?other=bo.work@").text
    assert f"Merge profile {crm_bo.pk} into profile {web_bo.pk}?" in found
    assert "bo.work@example.org" in found and "bo@example.org" in found  # both sides
    assert not Merge.objects.exists()  # comparing changes nothing

    merged = client.post(f"/profiles/{web_bo.pk}/merge/", {"other": crm_bo.pk})
    assert merged.status_code == 302 and merged["Location"] == f"/profiles/{web_bo.pk}/"
    merge = Merge.objects.get()
    assert (merge.survivor_id, merge.merged_id, merge.reason) == (web_bo.pk, crm_bo.pk, "manual")
    assert merge.actor.email == "account-manager@example.org"
    assert profile_of("crm_id", "CRM-5") == web_bo
    again = client.post(f"/profiles/{web_bo.pk}/merge/", {"other": crm_bo.pk})
    assert again.status_code == 400
    assert "Both profiles must exist and not be merged already." in again.text


def test_a_search_with_several_answers_lists_them_to_choose(twins, web, send, client_as):
    web_bo, crm_bo = twins
    send(web, message("identify", userId="w-bob", traits={"firstName": "Bob"}))
    client = client_as(ADMIN)
    page = client.get(f"/profiles/{web_bo.pk}/merge/?other=Bo").text
    assert f'href="/profiles/{web_bo.pk}/merge/?other={crm_bo.pk}"' in page
    assert f"?other={web_bo.pk}" not in page  # never itself
    nobody = client.get(f"/profiles/{web_bo.pk}/merge/?other=zed").text
    assert "No other profile matches “zed”." in nobody


def test_a_marketer_may_not_merge(twins, client_as):
    web_bo, crm_bo = twins
    client = client_as(MARKETER)
    assert "/merge/" not in client.get(f"/profiles/{web_bo.pk}/").text
    assert client.post(f"/profiles/{web_bo.pk}/merge/", {"other": crm_bo.pk}).status_code == 403
    assert not Merge.objects.exists()
