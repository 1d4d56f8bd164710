"""The whole REST API, fuzzed against its own OpenAPI schema (the one /api/schema/ serves).

Schemathesis generates requests from each operation's declaration, valid ones and invalid
ones, and sends them in-process to the WSGI application as an admin's API token; every
answer must be no 5xx, with a status code, content type and body the schema declares.
Bounded and derandomized (a fixed seed per operation), so CI runs the same requests each
time and quickly.
"""

import json

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cdp_site import services
from cdp_site.permissions import ADMIN
from cdp_site.wsgi import application

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 8


def served_schema() -> dict:
    """The schema /api/schema/ serves, generated the same way without an HTTP round trip
    (collection runs before the test database exists)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20260101,
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "mode": "all",
        },
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(served_schema(), config=CONFIG)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def admin_headers(settings, make_user):
    # The admin's password is never used: hashing it at full strength for each of the
    # ~100 operations would take half of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    token = services.create_api_token(user=make_user(ADMIN), name="fuzz")
    return {"Authorization": f"Token {token.plaintext}"}


@pytest.fixture
def in_process_requests():
    """Requests through the WSGI handler share the test's transaction, as Django's test
    client does: the handler must not close the connection at each request's end."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, admin_headers, in_process_requests):
    case.call_and_validate(app=application, headers=admin_headers, checks=CHECKS)
