"""The audit trail: sign-ins (and failed ones), views of a person, merges, unmerges and
consent changed by hand leave a row naming who, from where and what, by ids and keyed
hashes only; the database refuses to change or delete a row; its month partitions are
created ahead and a stray row finds its month."""

from datetime import UTC, date, datetime

import pytest
from django.db import DatabaseError, connection, transaction

from cdp_site import audit, services
from cdp_site.models import AuditEntry
from integrations import services as sources
from profiles import services as profiles
from tests.conftest import PASSWORD
from tests.profiles.conftest import drain, message, profile_of

pytestmark = pytest.mark.django_db


def _rows(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_a_sign_in_is_recorded_with_the_user_role_and_address(client, make_user):
    user = make_user("Marketer", email="mara@example.org")
    response = client.post(
        "/accounts/login/",
        {"login": "mara@example.org", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 302
    (row,) = _rows("auth.sign_in")
    assert (row.actor_id, row.actor_role, row.address) == (user.pk, "Marketer", "198.51.100.7")
    assert (row.target_type, row.target_id) == ("auth.user", str(user.pk))


def test_a_failed_sign_in_keeps_a_hash_of_the_login_not_the_login(client, make_user):
    make_user("Viewer", email="vic@example.org")
    client.post("/accounts/login/", {"login": "Vic@Example.org", "password": "wrong"})
    (row,) = _rows("auth.sign_in_failed")
    assert row.actor_id is None
    assert row.details == {"login": audit.hashed("vic@example.org")}
    assert "vic" not in str(row.details).lower()


def test_viewing_merging_unmerging_and_consent_by_hand_are_recorded(client_as, make_user):
    source = sources.create_source(name="Shop", kind="server")
    sources.ingest_messages(
        source_id=source.id,
        messages=[message("identify", userId=u, traits={"email": f"{u}@x.org"}) for u in "ab"],
    )
    drain()
    a, b = profile_of("user_id", "a"), profile_of("user_id", "b")
    client = client_as("Account manager")
    assert client.get(f"/profiles/{a.pk}/").status_code == 200
    assert client.get(f"/api/v1/profiles/{a.pk}/").status_code == 200
    viewer = AuditEntry.objects.filter(action="profile.view").values_list("details", flat=True)
    assert sorted(d["via"] for d in viewer) == ["api", "page"]

    admin = make_user("Admin")
    merge = profiles.merge_profiles(survivor_id=a.pk, merged_id=b.pk, actor=admin)
    profiles.unmerge(merge_id=merge.pk, actor=admin)
    profiles.record_consent(profile=a, purpose="email_marketing", status="denied", actor=admin)
    merged, unmerged = _rows("profile.merge"), _rows("profile.unmerge")
    assert [(r.actor_id, r.target_id) for r in merged + unmerged] == [(admin.pk, str(merge.pk))] * 2
    assert merged[0].details == {"profiles": [a.pk, b.pk]}
    (consent,) = _rows("consent.record")
    assert consent.details == {"purpose": "email_marketing", "status": "denied"}
    assert (consent.target_type, consent.target_id) == ("profiles.profile", str(a.pk))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE cdp_site_auditentry SET action = 'nothing happened'",
        "DELETE FROM cdp_site_auditentry",
    ],
)
def test_the_database_refuses_to_change_or_delete_a_row(statement):
    audit.record(action="test.kept")
    refused = pytest.raises(DatabaseError, match="append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert len(_rows("test.kept")) == 1


def test_partitions_are_made_ahead_and_a_stray_row_moves_into_its_month():
    stray = datetime(2031, 5, 9, tzinfo=UTC)  # no partition covers it yet: DEFAULT holds it
    AuditEntry.objects.create(at=stray, action="test.stray")
    created = audit.ensure_partitions(months_ahead=1, today=date(2031, 5, 2))
    assert created == ["cdp_site_auditentry_y2031m05", "cdp_site_auditentry_y2031m06"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cdp_site_auditentry_y2031m05")
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT count(*) FROM cdp_site_auditentry_default")
        assert cursor.fetchone()[0] == 0
    assert [r.at for r in _rows("test.stray")] == [stray]
    assert audit.ensure_partitions(months_ahead=1, today=date(2031, 5, 2)) == []


def test_changes_made_through_the_api_name_the_tokens_user_and_what_changed(client, make_user):
    admin = make_user("Admin")
    token = services.create_api_token(user=admin, name="ci").plaintext
    auth = {"HTTP_AUTHORIZATION": f"Token {token}", "REMOTE_ADDR": "203.0.113.9"}
    made = client.post("/api/v1/sources", {"name": "Till", "kind": "point_of_sale"}, **auth)
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    changed = client.patch(
        f"/api/v1/sources/{pk}", {"priority": 7}, content_type="application/json", **auth
    )
    assert changed.status_code == 200, changed.content
    created, updated = _rows("source.create"), _rows("source.update")
    assert [(r.actor_id, r.address, r.target_id) for r in created + updated] == [
        (admin.pk, "203.0.113.9", str(pk))
    ] * 2
    assert updated[0].details == {"priority": [100, 7]}


def test_users_roles_and_tokens_changed_on_the_pages_are_recorded(client_as, make_user):
    client = client_as("Admin")
    vera = make_user("Viewer", email="vera@example.org")
    client.post(f"/settings/users/{vera.pk}/", {"role": "Marketer"})
    client.post("/settings/tokens/", {"name": "laptop"})
    role = _rows("user.role")[-1]  # creating a user gave a role too, then this change
    assert (role.target_id, role.actor_role) == (str(vera.pk), "Admin")
    assert role.details == {"role": [["Viewer"], "Marketer"]}
    assert _rows("token.create")[0].actor_role == "Admin"


def test_admins_read_filter_and_download_the_trail_and_nobody_else_may(client_as):
    audit.record(action="source.update", target_type="integrations.source", target_id=5)
    audit.record(action="profile.view", target_type="profiles.profile", target_id=9)
    audit.record(action="source.create", details={"name": "=cmd|' /C calc'!A0"})
    admin = client_as("Admin")
    page = admin.get("/settings/audit/", {"action": "source."})
    assert page.status_code == 200
    assert b"source.update" in page.content and b"profile.view" not in page.content
    download = admin.get("/settings/audit/", {"action": "source.create", "format": "csv"})
    lines = download.content.decode().splitlines()
    assert lines[0].startswith("at,actor_id") and len(lines) == 2
    api = admin.get("/api/v1/audit", {"target_type": "profiles.profile"}).json()
    assert [r["target_id"] for r in api["results"]] == ["9"]
    for role in ("Marketer", "Account manager", "Viewer"):
        other = client_as(role)
        assert other.get("/settings/audit/").status_code == 403
        assert other.get("/api/v1/audit").status_code == 403


def test_months_past_the_retention_are_dropped_whole_and_newer_ones_kept():
    audit.ensure_partitions(months_ahead=3, today=date(2031, 1, 15))  # 2031-01 … 2031-04
    for month in (1, 2, 3, 4):
        AuditEntry.objects.create(at=datetime(2031, month, 9, tzinfo=UTC), action="test.old")
    AuditEntry.objects.create(at=datetime(2030, 6, 1, tzinfo=UTC), action="test.old")  # DEFAULT
    dropped = audit.drop_expired(keep_months=1, today=date(2031, 4, 2))
    assert {"cdp_site_auditentry_y2031m01", "cdp_site_auditentry_y2031m02"} <= set(dropped)
    assert not {"cdp_site_auditentry_y2031m03", "cdp_site_auditentry_y2031m04"} & set(dropped)
    kept = sorted(e.at.month for e in AuditEntry.objects.filter(action="test.old"))
    assert kept == [3, 4]  # March is the one whole month kept before April
