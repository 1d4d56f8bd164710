import pytest

from tests.profiles.conftest import crm, send, web  # noqa: F401  (fixtures shared with profiles)


@pytest.fixture
def marketer_client(client, make_user):
    client.force_login(make_user("Marketer"))
    return client
