"""The whole REST API, fuzzed against its own OpenAPI schema (the one /api/schema/ serves).

Schemathesis generates requests from each operation's declaration, valid ones and invalid
ones, and sends them in-process to the WSGI application as an admin's API token; every
answer must be no 5xx, with a status code, content type and body the schema declares.
Bounded and derandomized (a fixed seed per operation), so CI runs the same requests each
time and quickly.
"""

import json
import os

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

from campaigns import services as campaigns
from campaigns.models import MessageTemplate
from cdp_site import services
from cdp_site.permissions import ADMIN
from cdp_site.wsgi import application
from integrations import processing
from integrations import services as integrations
from integrations.connectors import services as connectors
from integrations.destinations import services as destinations
from integrations.imports import services as imports
from integrations.models import Source
from integrations.tracking_plan import services as tracking_plans
from profiles import services as profiles
from profiles.identifiers import load_rules
from profiles.models import IdentifierKind, Profile, StageRule, TraitKey
from profiles.rules import services as rules_services
from segments import services as segments
from tests.support import segment_rules

pytestmark = pytest.mark.django_db

# CI runs 8 per operation; CDP_FUZZ_EXAMPLES=200 digs deeper when you have the time.
EXAMPLES_PER_OPERATION = int(os.environ.get("CDP_FUZZ_EXAMPLES", "8"))


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


def no_server_error(ctx, response, case):
    """Any 5xx fails, except a 502 that the operation documents: it reports that an outside
    system refused (a destination's test or a dead letter's replay), which the fuzzer's
    destination, an address nothing listens on, always does."""
    documented = case.operation.definition.raw.get("responses", {})
    if response.status_code == 502 and "502" in documented:
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [
    no_server_error,
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


@pytest.fixture
def world(admin_headers, make_user):
    """One of each object the API serves, so that generated requests also reach real
    objects: ``path`` maps a path prefix to the id of its object."""
    load_rules()
    source = integrations.create_source(name="Shop", kind=Source.Kind.SERVER)
    integrations.ingest_messages(
        source_id=source.pk,
        messages=[
            {"type": "identify", "userId": "ann", "traits": {"email": "ann@example.org"}},
            {"type": "track", "userId": "ann", "event": "Order Completed"},
            {"type": "identify", "userId": "bob", "traits": {"email": "bob@example.org"}},
        ],
    )
    while processing.process_inbox_batch():
        pass
    ann, bob = Profile.objects.order_by("pk")
    merge = profiles.merge_profiles(survivor_id=ann.pk, merged_id=bob.pk, actor=None)
    hook = destinations.create_destination(
        name="Hook", kind="webhook", config={"url": "http://127.0.0.1:9/hook"}
    )
    letter = destinations.record_dead_letter(
        destination=hook, payload={}, idempotency_key="k", error="refused", attempts=5
    )
    template = MessageTemplate.objects.create(name="T", subject="Hi", body_html="<p>Hi</p>")
    segment = segments.create_segment(
        name="Buyers",
        rule=segment_rules.rule({"type": "event", "name": "Order Completed"}),
    )
    campaign = campaigns.create_campaign(
        name="Welcome",
        kind="event",
        trigger_event="Signed Up",
        steps=[{"id": "w", "type": "wait", "minutes": 5}],
    )
    upload = imports.create_import(source=source, chunks=[b"id\n1\n"], original_name="a.csv")
    trait = rules_services.save_computed_trait(
        key="orders", label="Orders", event_name="Order Completed", aggregation="count"
    )
    blocked = rules_services.add_blocked_value(kind=None, value="unknown@example.org")
    # Nothing listens on port 9: its test and preview answer what an unreachable service does.
    connection = connectors.create_connection(
        name="Partner API", kind="rest", base_url="http://127.0.0.1:9/", config={"path": "/c"}
    )
    plan = tracking_plans.create_plan(
        name="Shop plan",
        events=[{"name": "Order Completed", "schema": {"type": "object"}}],
        sources=[(source, "flag")],
    )
    own_token = services.create_api_token(user=make_user("Viewer", "v@example.org"), name="x")
    return {
        "/api/v1/sources/": source.pk,
        "/api/v1/profiles/merges/": merge.pk,
        "/api/v1/profiles/": ann.pk,
        "/api/v1/segments/": segment.pk,
        "/api/v1/campaigns/templates/": template.pk,
        "/api/v1/campaigns/": campaign.pk,
        "/api/v1/destinations/dead-letters/": letter.pk,
        "/api/v1/destinations/": hook.pk,
        "/api/v1/imports/": upload.pk,
        "/api/v1/computed-traits/": trait.pk,
        "/api/v1/blocked-values/": blocked.pk,
        "/api/v1/stage-rules/": StageRule.objects.first().pk,
        "/api/v1/identifier-kinds/": IdentifierKind.objects.get(name="email").pk,
        "/api/v1/trait-keys/": TraitKey.objects.first().pk,
        "/api/v1/tokens/": own_token.token.pk,
        "/api/v1/connections/": connection.pk,
        "/api/v1/tracking-plans/": plan.pk,
    }


def _aim_at_the_world(case, world) -> None:
    """Half of the generated ids (the even ones) become the id of a real object, so that
    details, updates and actions run on data, not only on 404s."""
    generated = (case.path_parameters or {}).get("id")
    if not isinstance(generated, int) or generated % 2:
        return
    path = case.operation.path
    prefix = next((p for p in world if path.startswith(p)), None)
    if prefix is not None:
        case.path_parameters["id"] = world[prefix]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, admin_headers, in_process_requests, request):
    if "{id}" in case.operation.path:  # only these can reach an object: the others skip it
        _aim_at_the_world(case, request.getfixturevalue("world"))
    case.call_and_validate(app=application, headers=admin_headers, checks=CHECKS)
