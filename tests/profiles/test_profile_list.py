"""The profile list: pages through every profile once, filters (stage, segment, source,
trait) shared with the API's list, a bounded total that says how it was counted, and
the normalised e-mail address."""

import io
import re

import pytest

from cdp_site.permissions import ACCOUNT_MANAGER
from profiles.models import Profile, Stage
from segments import static_lists

from .conftest import message, profile_of

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def people(web, crm, send):
    """Ann (web: Lyon, gold plan, 3 seats, in the VIP list), Bo (CRM: Oslo, gold plan)
    and Cy (web: Lyon, silver plan)."""
    send(
        web,
        message(
            "identify",
            userId="w-ann",
            traits={
                "email": "Ann.Smith@Example.ORG ",
                "firstName": "Ann",
                "city": "Lyon",
                "plan": "gold",
                "seats": 3,
            },
        ),
    )
    send(
        crm,
        message(
            "identify",
            userId="CRM-1",
            minutes=1,
            traits={"email": "bo@example.org", "firstName": "Bo", "city": "Oslo", "plan": "gold"},
        ),
    )
    send(
        web,
        message(
            "identify",
            userId="w-cy",
            minutes=2,
            traits={"email": "cy@example.org", "firstName": "Cy", "city": "Lyon", "plan": "silver"},
        ),
    )
    vip = static_lists.create_static_segment(name="VIP")
    static_lists.import_csv(segment=vip, file=io.BytesIO(b"email\nann.smith@example.org\n"))
    ann, bo, cy = (
        profile_of("user_id", "w-ann"),
        profile_of("crm_id", "CRM-1"),
        profile_of("user_id", "w-cy"),
    )
    Profile.objects.filter(pk=bo.pk).update(stage=Stage.RETENTION)
    return {"ann": ann, "bo": bo, "cy": cy, "vip": vip}


def names_on_page(html: str) -> set[str]:
    return set(re.findall(r'<a href="/profiles/\d+/">([^<]+)</a>', html))


def api_names(client, query: str) -> set[str]:
    response = client.get(f"/api/v1/profiles/?{query}")
    assert response.status_code == 200, response.content
    return {p["display_name"] for p in response.json()["results"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=retention", {"Bo"}),
        ("segment={vip}", {"Ann"}),
        ("source={crm}", {"Bo"}),
        ("trait=city&trait_value=Lyon", {"Ann", "Cy"}),
        ("trait=plan&trait_value=gold&source={web}", {"Ann"}),
        ("trait=seats&trait_value=3", {"Ann"}),  # a number, typed as text in the form
        ("trait=seats", {"Ann"}),  # anyone with the trait
        ("trait=city&trait_value=Paris", set()),
    ],
)
def test_the_page_and_the_api_filter_the_same_way(people, web, crm, client_as, query, expected):
    query = query.format(vip=people["vip"].pk, crm=crm.pk, web=web.pk)
    client = client_as(ACCOUNT_MANAGER)
    page = client.get(f"/profiles/?{query}")
    assert page.status_code == 200
    assert names_on_page(page.text) == expected
    assert api_names(client, query) == expected
    assert names_on_page(client.get(f"/profiles/?{query}&q=w-").text) == expected - {"Bo"}


def test_a_value_without_its_trait_is_refused_at_the_field(people, client_as):
    client = client_as(ACCOUNT_MANAGER)
    page = client.get("/profiles/?trait_value=gold")
    assert "Name the trait whose value to match." in page.text
    assert names_on_page(page.text) == set()
    response = client.get("/api/v1/profiles/?trait_value=gold")
    assert response.status_code == 400
    assert "trait" in response.json()["error"]["fields"]
    assert client.get("/api/v1/profiles/?stage=nope").status_code == 400


def test_the_list_shows_the_normalised_email_not_the_raw_trait(people, client_as):
    text = client_as(ACCOUNT_MANAGER).get("/profiles/").text
    assert "<td>ann.smith@example.org</td>" in text
    assert "Ann.Smith@Example.ORG" not in text


def test_a_profile_named_by_its_email_shows_the_normalised_address(web, send, client_as):
    send(
        web,
        message("identify", userId="w-seb", traits={"email": " Sebastian_Lopez2216@Outlook.Com"}),
    )
    seb = profile_of("user_id", "w-seb")
    page = client_as(ACCOUNT_MANAGER).get(f"/profiles/{seb.pk}/").text
    assert '<h1 id="profile-title">sebastian_lopez2216@outlook.com</h1>' in page
    assert "<code>sebastian_lopez2216@outlook.com</code>" in page  # the identifier


def test_pages_walk_every_profile_once_most_recently_seen_first(client_as, many_profiles):
    many_profiles(130, same_time_every=7)  # ties on last_seen_at across page breaks
    Profile.objects.filter(display_name="Many 5").update(last_seen_at=None)  # never seen: first
    client = client_as(ACCOUNT_MANAGER)
    url, seen, pages = "/profiles/", [], 0
    while url:
        html = client.get(url, **HTMX).text
        seen += re.findall(r'<a href="/profiles/(\d+)/">', html)
        found = re.search(r'<a href="([^"]+)" hx-get="[^"]+"[^>]*rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    order = "SELECT id FROM profiles_profile ORDER BY last_seen_at DESC NULLS FIRST, id DESC"
    expected = [str(p.pk) for p in Profile.objects.raw(order)]
    assert pages == 3
    assert seen == expected
    assert "130 profiles" in client.get("/profiles/").text.replace("<strong>", "").replace(
        "</strong>", ""
    )


def test_the_total_past_ten_thousand_is_an_estimate_unfiltered_and_a_floor_filtered(
    client_as, many_profiles
):
    many_profiles(10_500)
    client = client_as(ACCOUNT_MANAGER)
    unfiltered = client.get("/profiles/").text
    assert re.search(r"About <strong>10,[45]\d\d</strong> profiles", unfiltered)
    assert "an estimate from the database" in unfiltered
    filtered = client.get("/profiles/?trait=nothing&stage=").text
    assert "No profile matches these filters." in filtered
    named = client.get("/profiles/?stage=").text  # an empty filter is no filter
    assert "About <strong>" in named
    Profile.objects.update(stage=Stage.ORIENTATION)
    staged = client.get("/profiles/?stage=orientation").text
    assert "More than <strong>10,000</strong> profiles" in staged


def test_back_to_a_page_of_the_list_htmx_restores_is_the_whole_page(people, client_as):
    client = client_as(ACCOUNT_MANAGER)
    partial = client.get("/profiles/?stage=retention", **HTMX).text
    assert "<html" not in partial and names_on_page(partial) == {"Bo"}
    restored = client.get(
        "/profiles/?stage=retention", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX
    ).text
    assert "<html" in restored and names_on_page(restored) == {"Bo"}
