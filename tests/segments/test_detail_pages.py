"""A segment's page (status, members, history, recompute), the Customer 360 segment
panel with why a person is in a segment, and entries/exits in the customer timeline."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from profiles import selectors as profile_selectors
from profiles.forms import TimelineFilterForm
from profiles.rules import services as personal_data
from segments import membership, selectors, services, tasks
from segments.models import Segment

from .conftest import EXAMPLE, message, pid, recent, rule

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def example(shoppers):
    segment = services.create_segment(
        name="NL browsers", rule=EXAMPLE, description="Dutch window shoppers"
    )
    return membership.recompute(segment)


@pytest.fixture
def everyone(shoppers):
    segment = services.create_segment(
        name="Everyone with a country",
        rule=rule({"type": "trait", "key": "country", "op": "is_set"}),
    )
    return membership.recompute(segment)


def test_the_page_shows_rule_status_chart_members_and_history(example, client_as):
    # Marketers granted to see personal data: in clear, as this test reads (masking and
    # the export's refusal without the grant: tests/privacy/test_pii_masking.py).
    personal_data.set_personal_data_roles(roles=[MARKETER])
    page = client_as(MARKETER).get(f"/segments/{example.pk}/")
    assert page.status_code == 200
    text = page.text
    assert "NL browsers" in text and "Dutch window shoppers" in text
    assert (
        "country is NL · Product Viewed at least 3 times in the last 14 days · "
        "did not Order Completed in the last 14 days"
    ) in text
    assert re.search(r'member-count">1<', text)
    assert f"in {example.compute_ms} ms" in text
    assert 'data-chart="size-chart"' in text and 'id="size-chart"' in text
    rows = re.findall(r'<tr class="member" data-profile="(\d+)">(.*?)</tr>', text, re.S)
    assert [int(p) for p, _ in rows] == [pid("nl-3")]
    assert f'href="/profiles/{pid("nl-3")}/"' in rows[0][1] and "nl-3@example.org" in rows[0][1]
    assert "Recompute now" in text
    assert "recomputed" in text  # the history's reason
    assert "The last computation failed" not in text


def test_a_failed_computation_and_a_running_one_are_shown(example, client_as):
    Segment.objects.filter(pk=example.pk).update(compute_error="ProgrammingError: boom")
    text = client_as(MARKETER).get(f"/segments/{example.pk}/").text
    assert re.search(
        r'role="alert"><strong>The last computation failed.</strong> '
        r"ProgrammingError: boom",
        text,
    )
    Segment.objects.filter(pk=example.pk).update(computing_since=timezone.now())
    admin = client_as(ADMIN)
    status = admin.get(f"/segments/{example.pk}/status/", **HTMX)
    assert "Computing…" in status.text and 'hx-trigger="every 2s"' in status.text
    assert re.search(r"<button type=\"submit\" disabled>Recompute now", status.text)
    Segment.objects.filter(pk=example.pk).update(computing_since=None)
    done = admin.get(f"/segments/{example.pk}/status/?was_computing=1", **HTMX)
    assert "Computed." in done.text and "every 2s" not in done.text


def test_recompute_now_queues_the_task(
    example, client_as, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.recompute_segment, "delay", lambda pk: queued.append(pk))
    client = client_as(MARKETER)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/segments/{example.pk}/recompute/", **HTMX)
    assert response.status_code == 200 and "Recomputation queued." in response.text
    assert queued == [example.pk]
    assert Segment.objects.get(pk=example.pk).computing_since is not None
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/segments/{example.pk}/recompute/")
    assert response.status_code == 302 and queued == [example.pk, example.pk]


def test_roles_without_segments_may_not_see_or_recompute(example, client, make_user):
    panel_url = f"/segments/profile/{pid('nl-3')}/panel/"
    for role in (VIEWER, ACCOUNT_MANAGER):
        client.force_login(make_user(role))
        assert client.get(f"/segments/{example.pk}/").status_code == 403
        assert client.post(f"/segments/{example.pk}/recompute/").status_code == 403
        assert client.get(f"/segments/{example.pk}/members/", **HTMX).status_code == 403
        if role == VIEWER:
            assert client.get(panel_url).status_code == 403
    # An account manager reads profiles: the panel, without links to segments pages.
    panel = client.get(panel_url)
    assert panel.status_code == 200 and "NL browsers" in panel.text
    assert f'href="/segments/{example.pk}/"' not in panel.text


def test_members_load_more_pages_each_member_exactly_once(everyone, client_as, monkeypatch):
    monkeypatch.setattr(selectors, "MEMBER_PAGE", 3)
    client = client_as(MARKETER)
    text = client.get(f"/segments/{everyone.pk}/").text
    seen = [int(p) for p in re.findall(r'<tr class="member" data-profile="(\d+)"', text)]
    more = re.search(r'hx-get="(/segments/\d+/members/\?cursor=[^"]+)"', text).group(1)
    rows = client.get(more, **HTMX).text
    seen += [int(p) for p in re.findall(r'<tr class="member" data-profile="(\d+)"', rows)]
    assert "Load more" not in rows
    everybody = {pid(u) for u in ("nl-3", "nl-1", "nl-order", "be-3")}
    assert len(seen) == 4 and set(seen) == everybody


def test_the_panel_lists_memberships_and_explains_them(example, everyone, client_as):
    client = client_as(MARKETER)
    panel = client.get(f"/segments/profile/{pid('nl-3')}/panel/", **HTMX).text
    listed = re.findall(r'<a href="/segments/(\d+)/">([^<]+)</a> <span class="muted">since', panel)
    assert [name for _, name in listed] == ["Everyone with a country", "NL browsers"]
    assert f"/segments/profile/{pid('nl-3')}/explain/{example.pk}/" in panel

    why = client.get(f"/segments/profile/{pid('nl-3')}/explain/{example.pk}/", **HTMX).text
    assert "member since" in why
    assert why.count('data-passed="true"') == 4 and 'data-passed="false"' not in why  # group + 3
    assert "Their country: “NL”." in why

    other = client.get(f"/segments/profile/{pid('nl-order')}/panel/").text
    assert [n for _, n in re.findall(r'/segments/(\d+)/">([^<]+)</a> <span', other)] == [
        "Everyone with a country"
    ]
    assert re.search(rf'<option value="{example.pk}">NL browsers</option>', other)
    why_not = client.get(
        f"/segments/profile/{pid('nl-order')}/explain/?segment={example.pk}", **HTMX
    ).text
    assert "not a member" in why_not
    marks = re.findall(r'data-passed="(true|false)"', why_not)
    assert marks == ["false", "true", "true", "false"]  # the group, then each condition
    assert "✗" in why_not and "✓" in why_not
    full = client.get(f"/segments/profile/{pid('nl-order')}/explain/{example.pk}/")
    assert full.status_code == 200 and "Why is profile" in full.text


def test_entries_and_exits_join_the_timeline_with_cursor_pagination(example, web, send):
    nl3 = profile_selectors.Profile.objects.get(pk=pid("nl-3"))
    send(web, message(userId="nl-3", event="Order Completed", timestamp=recent(30)))
    membership.recompute(example)
    assert not example.memberships.filter(profile_id=nl3.pk).exists()

    entered = profile_selectors.timeline(profile=nl3, kinds=["segment-entered"]).items
    exited = profile_selectors.timeline(profile=nl3, kinds=["segment-exited"]).items
    assert [i.title for i in entered] == ["Entered segment “NL browsers”"]
    assert [i.title for i in exited] == ["Left segment “NL browsers”"]

    everything = profile_selectors.timeline(profile=nl3, limit=100).items
    kinds = [i.kind for i in everything]
    assert kinds[:2] == ["segment-exited", "segment-entered"]  # the newest
    paged, cursor = [], None
    while True:
        page = profile_selectors.timeline(profile=nl3, before=cursor, limit=2)
        paged += page.items
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert [i.key for i in paged] == [i.key for i in everything]
    # Their own types in the filter; a source filter keeps to events and consent.
    form = TimelineFilterForm({"type": "segment-exited"})
    assert form.selection() == {"kinds": ["segment-exited"]}
    assert not [
        i
        for i in profile_selectors.timeline(profile=nl3, source_ids=[web.pk]).items
        if i.kind.startswith("segment")
    ]


def test_the_profile_page_timeline_shows_segment_entries(example, client_as):
    text = client_as(MARKETER).get(f"/profiles/{pid('nl-3')}/").text
    assert 'data-kind="segment-entered"' in text and "Entered segment “NL browsers”" in text
    assert '<option value="segment-entered">Segments entered</option>' in text


def test_export_streams_the_members_as_csv(example, client_as):
    # Marketers granted to see personal data: in clear, as this test reads (masking and
    # the export's refusal without the grant: tests/privacy/test_pii_masking.py).
    personal_data.set_personal_data_roles(roles=[MARKETER])
    response = client_as(MARKETER).get(f"/segments/{example.pk}/export.csv")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("profile_id,") and len(lines) == 2
    assert lines[1].startswith(f"{pid('nl-3')},")
    page = client_as(ADMIN).get(f"/segments/{example.pk}/").text
    assert f'href="/segments/{example.pk}/export.csv"' in page


def test_an_uploaded_list_offers_the_upload_form(db, client_as):
    segment = Segment.objects.create(name="VIPs", kind=Segment.Kind.STATIC)
    text = client_as(MARKETER).get(f"/segments/{segment.pk}/").text
    assert "An uploaded list of people" in text and "Upload list" in text
    assert f'action="/segments/{segment.pk}/upload/"' in text


def test_uploading_a_list_sets_the_members(shoppers, client_as):
    segment = Segment.objects.create(name="VIPs", kind=Segment.Kind.STATIC)
    upload = SimpleUploadedFile(
        "vips.csv", b"email\nnl-3@example.org\nbe-3@example.org\nnobody@example.org\n"
    )
    client = client_as(MARKETER)
    response = client.post(f"/segments/{segment.pk}/upload/", {"file": upload}, follow=True)
    assert response.status_code == 200
    assert "3 rows read: 2 found, 1 not found" in response.text
    assert set(segment.memberships.values_list("profile_id", flat=True)) == {
        pid("nl-3"),
        pid("be-3"),
    }
    why = client.get(f"/segments/profile/{pid('nl-3')}/explain/{segment.pk}/", **HTMX).text
    assert "member since" in why and "uploaded" in why
