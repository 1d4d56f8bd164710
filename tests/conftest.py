import os

import pytest

from cdp_site import services
from cdp_site.permissions import ROLES
from integrations.collect import keys

# Playwright's sync API runs an event loop in the test thread; Django's ORM guard
# would otherwise refuse the test's own database calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Shared fixtures: a real SMTP server (smtp_inbox).
pytest_plugins = ["tests.support.smtp"]

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Each test starts and ends with an empty write-key cache (it lives per process)."""
    keys.clear_cache()
    yield
    keys.clear_cache()


@pytest.fixture
def make_user(db):
    def make(role: str, email: str | None = None):
        email = email or role.lower().replace(" ", "-") + "@example.org"
        return services.create_user(email=email, role=role, password=PASSWORD).user

    return make


@pytest.fixture
def users_by_role(make_user):
    return {role: make_user(role) for role in ROLES}


@pytest.fixture
def client_as(client, make_user):
    def login(role: str):
        client.force_login(make_user(role))
        return client

    return login
