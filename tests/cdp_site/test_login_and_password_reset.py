"""Login by e-mail and password; password reset by e-mail through a real SMTP server."""

import re

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_email_and_password_reaches_the_dashboard(client, make_user):
    make_user("Viewer", "vera@example.org")
    response = client.post(
        "/accounts/login/", {"login": "Vera@Example.org", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert "Dashboard" in response.content.decode()


def test_sign_up_is_closed(client):
    response = client.get("/accounts/signup/")
    assert "Sign Up Closed" in response.content.decode()
    assert get_user_model().objects.count() == 0


def test_password_reset_by_email_lets_the_user_set_a_new_password(client, make_user, smtp_inbox):
    make_user("Marketer", "mia@example.org")
    client.post("/accounts/password/reset/", {"email": "mia@example.org"})

    assert len(smtp_inbox.messages) == 1
    message = smtp_inbox.messages[0]
    assert message["To"] == "mia@example.org"
    body = message.get_payload(decode=True) or message.get_payload(0).get_payload(decode=True)
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", body.decode()).group(1)

    form = client.get(link, follow=True)
    new = "a-brand-new-passphrase-42"
    client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"password1": new, "password2": new},
    )
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": "mia@example.org", "password": new}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"


def test_password_reset_for_an_unknown_address_sends_nothing_revealing(client, smtp_inbox):
    response = client.post(
        "/accounts/password/reset/", {"email": "nobody@example.org"}, follow=True
    )
    assert response.status_code == 200
    assert all("reset/key" not in str(m) for m in smtp_inbox.messages)
