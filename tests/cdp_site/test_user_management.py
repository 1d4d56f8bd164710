"""Admins add users with a role, change roles and deactivate; nobody else may."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from cdp_site.permissions import role_of
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_admin_adds_a_user_whose_one_time_password_works(client_as):
    admin = client_as("Admin")
    response = admin.post(
        "/settings/users/", {"email": " New.Person@Example.org ", "role": "Account manager"}
    )
    created = response.context_data["created"]
    assert created.password in response.content.decode()

    user = get_user_model().objects.get(email="new.person@example.org")
    assert role_of(user) == "Account manager"
    other = Client()
    assert other.login(username="new.person@example.org", password=created.password)


def test_duplicate_email_is_refused_with_a_field_error(client_as, make_user):
    make_user("Viewer", "taken@example.org")
    response = client_as("Admin").post(
        "/settings/users/", {"email": "TAKEN@example.org", "role": "Viewer"}
    )
    assert response.context_data["form"].errors == {
        "email": ["A user with this e-mail already exists."]
    }
    assert get_user_model().objects.filter(email__iexact="taken@example.org").count() == 1


def test_admin_changes_a_role_and_the_new_capabilities_apply(client_as, make_user):
    target = make_user("Viewer", "val@example.org")
    client_as("Admin").post(f"/settings/users/{target.pk}/", {"role": "Marketer"})

    target = get_user_model().objects.get(pk=target.pk)
    assert role_of(target) == "Marketer"
    viewer_client = Client()
    viewer_client.force_login(target)
    assert viewer_client.get("/segments/").status_code == 200


def test_deactivated_user_cannot_log_in(client_as, make_user):
    target = make_user("Marketer", "gone@example.org")
    client_as("Admin").post(f"/settings/users/{target.pk}/", {"active": "0"})
    assert not Client().login(username="gone@example.org", password=PASSWORD)


def test_admin_cannot_demote_or_deactivate_themselves(client, make_user):
    admin = make_user("Admin", "root@example.org")
    client.force_login(admin)
    client.post(f"/settings/users/{admin.pk}/", {"role": "Viewer"})
    client.post(f"/settings/users/{admin.pk}/", {"active": "0"})
    admin.refresh_from_db()
    assert admin.is_active and role_of(admin) == "Admin"


@pytest.mark.parametrize("role", ["Marketer", "Account manager", "Viewer"])
def test_only_admins_manage_users(client_as, make_user, role):
    target = make_user("Viewer", "t@example.org")
    client = client_as(role)
    assert (
        client.post("/settings/users/", {"email": "x@example.org", "role": "Admin"}).status_code
        == 403
    )
    assert client.post(f"/settings/users/{target.pk}/", {"role": "Admin"}).status_code == 403
    assert not get_user_model().objects.filter(email="x@example.org").exists()
