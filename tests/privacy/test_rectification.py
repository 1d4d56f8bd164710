"""Rectification: a trait corrected by hand with the reason wins over every source (also
one that states another value later) until a person removes it; it is typed against the
trait, shown with who, when, why and the value before on the profile page, given in the
access export, followed through merges, audited without values, and signalled as a
trait change so that segments follow."""

import pytest

from cdp_site.models import AuditEntry
from cdp_site.permissions import ACCOUNT_MANAGER, MARKETER
from cdp_site.personal_data import export_subject
from profiles import rectification, services
from profiles.models import Profile, ProfileChange, TraitKey, TraitRectification
from profiles.privacy.selectors import subject_for
from tests.profiles.conftest import crm, message, profile_of, send, web  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def bo(send, web, crm):  # noqa: F811
    send(crm, message("identify", userId="c-1", traits={"email": "bo@example.org", "age": 41}))
    send(crm, message("identify", userId="c-1", minutes=1, traits={"firstName": "Boo"}))
    return profile_of("email", "bo@example.org")


def _fix(profile, actor, key="firstName", value="Bo", reason="Customer called, 3 Dec"):
    return rectification.rectify_trait(
        profile_id=profile.pk, key=key, value=value, reason=reason, actor=actor
    )


def test_a_correction_wins_over_sources_until_removed(bo, send, web, crm, make_user):  # noqa: F811
    manager = make_user(ACCOUNT_MANAGER)
    _fix(bo, manager)
    bo.refresh_from_db()
    assert bo.traits["firstName"] == "Bo" and bo.display_name.startswith("Bo")
    # The CRM (highest priority) states another value later: the correction stands.
    send(crm, message("identify", userId="c-1", minutes=9, traits={"firstName": "Bob"}))
    bo.refresh_from_db()
    assert bo.traits["firstName"] == "Bo"

    rectification.end_rectification(profile_id=bo.pk, key="firstName", actor=manager)
    bo.refresh_from_db()
    assert bo.traits["firstName"] == "Bob"
    row = TraitRectification.objects.get()
    assert row.removed_by == manager and row.previous_value == "Boo"


def test_a_correction_wins_whatever_the_traits_strategy(bo, send, crm, make_user):  # noqa: F811
    TraitKey.objects.filter(key="firstName").update(strategy="earliest")
    _fix(bo, make_user(ACCOUNT_MANAGER))
    send(crm, message("identify", userId="c-1", minutes=9, traits={"firstName": "Bob"}))
    bo.refresh_from_db()
    assert bo.traits["firstName"] == "Bo"


def test_a_new_correction_replaces_the_standing_one(bo, make_user):
    manager = make_user(ACCOUNT_MANAGER)
    _fix(bo, manager, value="Bo")
    _fix(bo, manager, value="Bonnie", reason="Spelling")
    bo.refresh_from_db()
    assert bo.traits["firstName"] == "Bonnie"
    standing = TraitRectification.objects.filter(removed_at__isnull=True)
    assert [(r.value, r.previous_value) for r in standing] == [("Bonnie", "Bo")]


def test_values_are_typed_against_the_trait_and_a_reason_is_required(bo, make_user):
    manager = make_user(ACCOUNT_MANAGER)
    assert TraitKey.objects.get(key="age").type == "number"
    with pytest.raises(rectification.RectificationError) as refused:
        _fix(bo, manager, key="age", value="forty", reason="  ")
    assert {e["field"] for e in refused.value.errors} == {"value", "reason"}
    assert "holds a number" in str(refused.value)
    with pytest.raises(rectification.RectificationError, match="no trait"):
        _fix(bo, manager, key="shoeSize", value="42")
    _fix(bo, manager, key="age", value=" 42 ")
    bo.refresh_from_db()
    assert bo.traits["age"] == 42
    assert not TraitRectification.objects.filter(key="shoeSize").exists()


def test_a_correction_is_audited_without_values_and_signalled(bo, make_user):
    manager = make_user(ACCOUNT_MANAGER)
    before = ProfileChange.objects.count()
    row = _fix(bo, manager, reason="Asked by Bo Smith")
    entry = AuditEntry.objects.get(action="profile.trait_rectified")
    assert entry.details == {"key": "firstName", "rectification": row.pk}
    assert "Bo" not in str(entry.details)
    change = ProfileChange.objects.order_by("-id").first()
    assert ProfileChange.objects.count() == before + 1
    assert change.profile_id == bo.pk and change.kinds == ["traits"]
    assert change.detail == {"traits": ["firstName"]}


def test_the_access_export_and_a_merge_keep_the_correction(bo, send, web, make_user):  # noqa: F811
    manager = make_user(ACCOUNT_MANAGER)
    _fix(bo, manager)
    exported = export_subject(subject_for("email", "bo@example.org"))
    (row,) = exported["trait_corrections"]
    assert (row["value"], row["previous_value"], row["reason"]) == (
        "Bo",
        "Boo",
        "Customer called, 3 Dec",
    )
    send(web, message("identify", userId="other", traits={"firstName": "Zed"}))
    other = profile_of("user_id", "other")
    merge = services.merge_profiles(survivor_id=other.pk, merged_id=bo.pk, actor=manager)
    other.refresh_from_db()
    assert other.traits["firstName"] == "Bo"
    services.unmerge(merge_id=merge.pk, actor=manager)
    assert TraitRectification.objects.get().profile_id == bo.pk
    other.refresh_from_db()
    assert other.traits["firstName"] == "Zed"


def test_the_profile_page_corrects_a_trait_and_shows_the_provenance(bo, client_as):
    client = client_as(ACCOUNT_MANAGER)
    page = client.get(f"/profiles/{bo.pk}/").content.decode()
    assert "Correct a trait by hand" in page
    refused = client.post(
        f"/profiles/{bo.pk}/traits/rectify/",
        {"key": "age", "value": "old", "reason": ""},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "holds a number" in refused and "Say why the value is corrected." in refused
    answer = client.post(
        f"/profiles/{bo.pk}/traits/rectify/",
        {"key": "firstName", "value": "Bo", "reason": "Typo at sign-up"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert 'id="traits"' in answer and "<h1" not in answer
    assert "Set by hand" in answer and "Typo at sign-up" in answer and "Before: Boo" in answer
    removed = client.post(
        f"/profiles/{bo.pk}/traits/unrectify/",
        {"key": "firstName"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "Boo" in removed and "removed" in removed and "Remove the correction" not in removed
    assert Profile.objects.get(pk=bo.pk).traits["firstName"] == "Boo"


def test_marketers_cannot_correct_traits(bo, client_as):
    client = client_as(MARKETER)
    post = client.post(
        f"/profiles/{bo.pk}/traits/rectify/", {"key": "firstName", "value": "X", "reason": "x"}
    )
    assert post.status_code == 403
    api = client.post(
        f"/api/v1/profiles/{bo.pk}/traits/firstName/rectify/",
        {"value": "X", "reason": "x"},
        content_type="application/json",
    )
    assert api.status_code == 403
    assert "Correct a trait" not in client.get(f"/profiles/{bo.pk}/").content.decode()
    assert not TraitRectification.objects.exists()


def test_the_api_corrects_lists_and_removes_a_correction(bo, client_as):
    client = client_as(ACCOUNT_MANAGER)
    url = f"/api/v1/profiles/{bo.pk}/traits/age/rectify/"
    bad = client.post(url, {"value": "x", "reason": "r"}, content_type="application/json")
    assert bad.status_code == 400 and "holds a number" in _fields(bad)["value"][0]
    missing = client.post(url, {"value": 40}, content_type="application/json")
    assert missing.status_code == 400 and "reason" in _fields(missing)
    made = client.post(url, {"value": 40, "reason": "ID seen"}, content_type="application/json")
    assert made.status_code == 201
    body = made.json()
    assert (body["value"], body["previous_value"], body["reason"]) == (40, 41, "ID seen")
    traits = client.get(f"/api/v1/profiles/{bo.pk}/").json()["traits"]
    assert [t["value"] for t in traits if t["key"] == "age"] == [40]
    assert [r["id"] for r in client.get(url).json()] == [body["id"]]
    assert client.delete(url).status_code == 204
    again = client.delete(url)
    assert again.status_code == 400 and "no correction" in _fields(again)["key"][0]
    assert Profile.objects.get(pk=bo.pk).traits["age"] == 41


def _fields(response) -> dict:
    return response.json()["error"]["fields"]
