"""Profile pages: search, the Customer 360 page, its timeline, notes, consent and undo."""

import re

import pytest
from django.db import connection
from django.db.models.functions import Lower

from cdp_site.permissions import ACCOUNT_MANAGER, MARKETER, VIEWER
from profiles import selectors, services
from profiles.models import ConsentRecord, IdentifierKind, Identity, Merge, Note, Profile

from .conftest import active_profiles, message, profile_of

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ann(web, crm, send):
    """Ann: a web account and a CRM record joined by her e-mail (a rule merge)."""
    send(
        web,
        message(
            "identify",
            userId="w-ann",
            traits={"email": "ann@example.org", "firstName": "Ann", "age": 41, "city": "Lyon"},
        ),
    )
    crm_traits = {"phone": "+33 6 12 34 56 78", "city": "Paris", "age": "forty"}
    send(crm, message("identify", userId="CRM-77", minutes=1, traits=crm_traits))
    send(crm, message("identify", userId="CRM-77", minutes=2, traits={"email": "ANN@example.org"}))
    return profile_of("email", "ann@example.org")


def test_search_finds_a_profile_by_email_identifier_or_name_prefix(ann, web, send):
    send(
        web,
        message(
            "identify", userId="w-bob", traits={"email": "bob@example.org", "firstName": "Bob"}
        ),
    )
    assert selectors.search_profiles(q="ann@example.org", limit=10) == [ann]
    assert selectors.search_profiles(q="ANN@EX", limit=10) == [ann]
    assert selectors.search_profiles(q="crm-7", limit=10) == [ann]
    assert selectors.search_profiles(q="an", limit=10) == [ann]
    assert selectors.search_profiles(q="+3361234", limit=10) == [ann]
    assert selectors.search_profiles(q="+33 6 12 34", limit=10) == [ann]
    assert selectors.search_profiles(q="zed", limit=10) == []
    assert {p.display_name for p in selectors.search_profiles(q="w-", limit=10)} == {"Ann", "Bob"}


def test_search_never_returns_a_merged_profile(ann):
    merge = Merge.objects.get()
    assert all(p.is_active for p in selectors.search_profiles(q="", limit=10))
    found = selectors.search_profiles(q="w-ann", limit=10)
    assert found == [ann] and merge.merged_id not in [p.pk for p in found]


def test_search_follows_the_prefix_indexes_on_a_large_table():
    # 20,000 profiles, each with an e-mail: enough for the planner to prefer the indexes
    # (measured at 1,000,000 profiles: every search < 10 ms).
    kind = IdentifierKind.objects.get(name="email").pk
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO profiles_profile (display_name, stage, traits, computed, consent,
                   created_at, updated_at, last_seen_at)
               SELECT 'N' || md5(g::text), '', '{}', '{}', '{}', now(), now(), now()
               FROM generate_series(1, 20000) g"""
        )
        cursor.execute(
            """INSERT INTO profiles_identity (kind_id, value, profile_id, first_seen_at,
                   last_seen_at, created_at)
               SELECT %s, md5(id::text) || '@Example.org', id, now(), now(), now()
               FROM profiles_profile""",
            [kind],
        )
        cursor.execute("ANALYZE profiles_profile; ANALYZE profiles_identity")
    prefix = Identity.objects.order_by("pk").first().value[:6].lower()
    identity_plan = (
        Identity.objects.annotate(v=Lower("value")).filter(v__startswith=prefix)[:20].explain()
    )
    name_plan = (
        Profile.objects.annotate(n=Lower("display_name"))
        .filter(merged_into__isnull=True, n__startswith="nab12")[:20]
        .explain()
    )
    assert "identity_value_prefix" in identity_plan
    assert "profile_name_prefix" in name_plan
    assert selectors.search_profiles(q=prefix.upper(), limit=5)


def test_the_list_page_searches_as_you_type(ann, client_as):
    client = client_as(ACCOUNT_MANAGER)
    page = client.get("/profiles/")
    assert page.status_code == 200 and 'hx-trigger="input changed delay:300ms' in page.text
    assert "Ann" in page.text  # recently seen by default
    partial = client.get("/profiles/?q=ann@", **HTMX)
    assert "<html" not in partial.text and f"/profiles/{ann.pk}/" in partial.text
    assert "No profile matches" in client.get("/profiles/?q=nobody", **HTMX).text


def test_the_360_page_shows_the_winner_its_source_and_other_values(ann, client_as):
    page = client_as(ACCOUNT_MANAGER).get(f"/profiles/{ann.pk}/")
    assert page.status_code == 200
    text = page.text
    assert '<h1 id="profile-title">Ann</h1>' in text
    assert "crm-77" in text.lower() and "+33612345678" in text
    city = re.search(r"<code>city</code>.*?</tr>", text, re.S).group(0)
    # The CRM (priority 90) beats the webshop (60); Lyon is another value seen.
    assert re.search(r'trait-value">Paris<.*?CRM', city, re.S)
    assert "Lyon" in city and "Webshop" in city
    age = re.search(r"<code>age</code>.*?</tr>", text, re.S).group(0)
    assert "41" in age and "forty" in age and "conflict" in age
    # The segments panel loads lazily from the segments app.
    assert f'hx-get="/segments/profile/{ann.pk}/panel/"' in text


def test_a_merged_profiles_url_redirects_to_its_survivor(ann, client_as):
    merge = Merge.objects.get()
    client = client_as(MARKETER)
    response = client.get(f"/profiles/{merge.merged_id}/")
    assert response.status_code == 302 and response["Location"] == f"/profiles/{ann.pk}/"
    assert client.get("/profiles/99999999/").status_code == 404


def test_undo_merge_from_the_page_splits_the_profiles_back(ann, client_as):
    merge = Merge.objects.get()
    client = client_as(ACCOUNT_MANAGER)
    page = client.get(f"/profiles/{merge.survivor_id}/")
    assert "Undo merge" in page.text and "hx-confirm" in page.text
    response = client.post(f"/profiles/{merge.survivor_id}/merges/{merge.pk}/undo/", **HTMX)
    assert response.status_code == 200
    assert "Merge undone" in response.text and "<html" not in response.text
    assert active_profiles().count() == 2
    assert profile_of("user_id", "w-ann") != profile_of("crm_id", "CRM-77")
    merge.refresh_from_db()
    assert merge.undone_at is not None
    again = client.post(f"/profiles/{merge.survivor_id}/merges/{merge.pk}/undo/", **HTMX)
    assert "already undone" in again.text


def test_only_a_role_that_manages_profiles_may_undo_or_edit_consent(ann, client_as):
    merge = Merge.objects.get()
    marketer = client_as(MARKETER)
    assert "Undo merge" not in marketer.get(f"/profiles/{ann.pk}/").text
    url = f"/profiles/{merge.survivor_id}/merges/{merge.pk}/undo/"
    assert marketer.post(url).status_code == 403
    assert (
        marketer.post(
            f"/profiles/{ann.pk}/consent/", {"purpose": "analytics", "status": "granted"}
        ).status_code
        == 403
    )
    assert marketer.post(f"/profiles/{ann.pk}/notes/", {"body": "hi"}).status_code == 403
    assert not Merge.objects.filter(undone_at__isnull=False).exists()


def test_a_viewer_may_not_see_profiles(ann, client_as):
    viewer = client_as(VIEWER)
    assert viewer.get("/profiles/").status_code == 403
    assert viewer.get(f"/profiles/{ann.pk}/").status_code == 403
    assert viewer.get(f"/profiles/{ann.pk}/timeline/", **HTMX).status_code == 403


def test_an_account_manager_adds_a_note_with_htmx(ann, client_as):
    client = client_as(ACCOUNT_MANAGER)
    response = client.post(f"/profiles/{ann.pk}/notes/", {"body": "Called about order 12"}, **HTMX)
    assert response.status_code == 200 and "Note added." in response.text
    assert "Called about order 12" in response.text and "<html" not in response.text
    assert Note.objects.get().profile == ann
    empty = client.post(f"/profiles/{ann.pk}/notes/", {"body": "  "}, **HTMX)
    assert Note.objects.count() == 1 and 'class="error"' in empty.text


def test_an_account_manager_records_consent_from_the_page(ann, client_as):
    client = client_as(ACCOUNT_MANAGER)
    response = client.post(
        f"/profiles/{ann.pk}/consent/",
        {"purpose": "email_marketing", "status": "granted", "note": "phone call"},
        **HTMX,
    )
    assert response.status_code == 200 and "Consent recorded." in response.text
    record = ConsentRecord.objects.get(profile=ann)
    assert record.status == "granted" and record.evidence["note"] == "phone call"
    ann.refresh_from_db()
    assert ann.consent["email_marketing"]["status"] == "granted"


def _many_events(web, send, count):
    send(
        web, *[message(userId="w-many", minutes=i // 2, event=f"Viewed {i}") for i in range(count)]
    )
    return profile_of("user_id", "w-many")


def test_timeline_pages_return_each_item_exactly_once(web, send, client_as):
    # Pairs of events share a timestamp, so the cursor's tie-breakers are exercised.
    profile = _many_events(web, send, 45)
    services.add_note(profile=profile, author=None, body="note one")
    seen, cursor = [], None
    while True:
        page = selectors.timeline(profile=profile, before=cursor, limit=7)
        seen += [(i.kind, i.id) for i in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen))
    kinds = [k for k, _ in seen]
    assert kinds.count("event") == 45 and kinds.count("note") == 1
    times = [i.time for i in selectors.timeline(profile=profile, limit=100).items]
    assert times == sorted(times, reverse=True)


def test_timeline_infinite_scroll_loads_the_next_page_partial(web, send, client_as):
    profile = _many_events(web, send, 40)
    client = client_as(MARKETER)
    page = client.get(f"/profiles/{profile.pk}/")
    assert page.text.count('class="timeline-item') == 30
    next_url = re.search(r'hx-get="([^"]+)" hx-trigger="revealed"', page.text).group(1)
    more = client.get(next_url.replace("&amp;", "&"), **HTMX)
    total = len(selectors.timeline(profile=profile, limit=1000).items)
    assert total >= 40 and more.text.count('class="timeline-item') == total - 30
    assert 'hx-trigger="revealed"' not in more.text and "<ol" not in more.text


def test_timeline_filters_by_source_and_type(ann, crm, web, send, client_as):
    services.add_note(profile=ann, author=None, body="vip")
    only_crm = selectors.timeline(profile=ann, source_ids=[crm.pk])
    assert only_crm.items and {i.source_id for i in only_crm.items} == {crm.pk}
    notes = selectors.timeline(profile=ann, kinds=["note"])
    assert [i.detail for i in notes.items] == ["vip"]
    identifies = selectors.timeline(profile=ann, kinds=["event"], event_types=["track"])
    assert identifies.items == []
    merges = selectors.timeline(profile=ann, kinds=["merge"]).items
    assert len(merges) == 1
    client = client_as(MARKETER)
    response = client.get(
        f"/profiles/{ann.pk}/timeline/?source={crm.pk}&type=event:identify", **HTMX
    )
    assert response.text.count('class="timeline-item') == 2
    assert "Webshop" not in response.text
