"""Inbound webhooks: signatures carry a timestamp (replays and stale requests refused),
the secret is stored encrypted and shown once (page and API), and existing plain secrets
are encrypted by the data migration."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from cdp_site import crypto
from cdp_site.permissions import ADMIN
from integrations import services as integration_services
from integrations.models import Event, Source
from integrations.webhooks import services as webhooks
from integrations.webhooks.models import UsedSignature, WebhookConfig

pytestmark = pytest.mark.django_db

BODY = json.dumps({"userId": "C42", "event": "Order Completed"}).encode()


@pytest.fixture
def hook(db):
    source = integration_services.create_source(name="Shop system", kind=Source.Kind.SERVER)
    config, secret = webhooks.enable_webhook(source=source)
    config = webhooks.update_webhook(
        config=config,
        kind="track",
        require_signature=True,
        rules=[{"target": "userId", "path": "$.userId"}, {"target": "event", "path": "$.event"}],
    )
    config.signing_secret = secret
    return config


def post(client, hook, body=BODY, *, signature):
    return client.generic(
        "POST",
        f"/hooks/{hook.token}",
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=signature,
    )


def stored(hook) -> int:
    return Event.objects.filter(source_id=hook.source_id).count()


def test_a_valid_signature_within_the_window_is_accepted(client, hook):
    signature = webhooks.sign(hook.signing_secret, BODY, int(time.time()) - 240)
    response = post(client, hook, signature=signature)
    assert response.status_code == 200, response.content
    assert stored(hook) == 1


def test_a_signed_request_sent_again_is_refused_as_a_replay(client, hook):
    signature = webhooks.sign(hook.signing_secret, BODY)
    assert post(client, hook, signature=signature).status_code == 200
    replay = post(client, hook, signature=signature)
    assert replay.status_code == 409
    assert replay.json()["error"]["code"] == "replayed_signature"
    assert stored(hook) == 1


# Past the 300 s tolerance by more than a slow test takes: int(time.time()) drops up to
# a second, and the request is checked a moment after it is signed.
@pytest.mark.parametrize("offset", [-330, -3600, 330])
def test_an_old_or_future_timestamp_is_refused(client, hook, offset):
    signature = webhooks.sign(hook.signing_secret, BODY, int(time.time()) + offset)
    response = post(client, hook, signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_signature"
    assert stored(hook) == 0


def test_a_tampered_body_is_refused(client, hook):
    signature = webhooks.sign(hook.signing_secret, BODY)
    tampered = BODY.replace(b"C42", b"C43")
    response = post(client, hook, tampered, signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert stored(hook) == 0


def test_a_changed_timestamp_breaks_the_signature(client, hook):
    now = int(time.time())
    digest = webhooks.sign(hook.signing_secret, BODY, now - 400).split("sha256=")[1]
    response = post(client, hook, signature=f"t={now},sha256={digest}")
    assert response.json()["error"]["code"] == "invalid_signature"


def test_the_old_body_only_signature_is_refused_with_the_format(client, hook):
    old = "sha256=" + hmac.new(hook.signing_secret.encode(), BODY, hashlib.sha256).hexdigest()
    response = post(client, hook, signature=old)
    assert response.status_code == 401
    assert "t=<unix seconds>,sha256=" in response.json()["error"]["message"]


def test_a_delivery_that_fails_to_store_leaves_its_signature_usable(client, hook):
    signature = webhooks.sign(hook.signing_secret, b"[1, 2")  # not JSON: 400
    assert post(client, hook, b"[1, 2", signature=signature).status_code == 400
    assert not UsedSignature.objects.exists()


def test_used_signatures_are_forgotten_once_they_can_no_longer_pass(client, hook):
    post(client, hook, signature=webhooks.sign(hook.signing_secret, BODY))
    assert webhooks.purge_used_signatures() == 0
    later = timezone.now() + timedelta(seconds=2 * webhooks.TOLERANCE_SECONDS + 5)
    assert webhooks.purge_used_signatures(now=later) == 1


# --- the secret: encrypted, shown once ---------------------------------------------------


def test_the_secret_is_stored_encrypted_only(hook):
    row = WebhookConfig.objects.values("secret_encrypted").get(pk=hook.pk)
    assert hook.signing_secret not in row["secret_encrypted"]
    assert crypto.decrypt(row["secret_encrypted"]) == hook.signing_secret


def test_the_api_returns_the_secret_only_when_it_creates_or_rotates_it(client_as, db):
    source = integration_services.create_source(name="CRM", kind=Source.Kind.CRM)
    api = client_as(ADMIN)
    url = f"/api/v1/sources/{source.pk}/webhook"
    created = api.post(url, {"kind": "identify"}, content_type="application/json")
    assert created.status_code == 200, created.content
    secret = created.json()["secret"]
    assert secret and crypto.decrypt(source.webhook.secret_encrypted) == secret
    assert "no-store" in created["Cache-Control"]

    read = api.get(url)
    assert "secret" not in read.json() and secret not in read.content.decode()
    updated = api.post(url, {"require_signature": True}, content_type="application/json")
    assert updated.json()["secret"] is None and secret not in updated.content.decode()

    rotated = api.post(url, {"rotate": True}, content_type="application/json").json()
    assert rotated["secret"] and rotated["secret"] != secret
    assert secret not in api.get(url).content.decode()
    assert rotated["secret"] not in api.get(url).content.decode()


def test_the_page_shows_the_secret_once(client_as, db):
    source = integration_services.create_source(name="CRM", kind=Source.Kind.CRM)
    client = client_as(ADMIN)
    url = f"/integrations/sources/{source.pk}/webhook/"
    created = client.post(url)  # without htmx: the page itself, not a redirect
    assert created.status_code == 200
    secret = crypto.decrypt(source.webhook.secret_encrypted)
    assert secret in created.content.decode()
    assert secret not in client.get(url).content.decode()


# --- the data migration --------------------------------------------------------------

BEFORE = [("integrations", "0007_webhook_secret_encrypted")]


def test_the_data_migration_encrypts_existing_secrets(db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    source = old_apps.get_model("integrations", "Source").objects.create(
        name="Old", kind="server", write_key="wk-old-0123456789"
    )
    old_apps.get_model("integrations", "WebhookConfig").objects.create(
        source_id=source.pk, token="tok-old", secret="plain-old-secret"
    )
    with connection.cursor() as cursor:
        # The row's deferred foreign-key check, run now: a later ALTER TABLE in this
        # (test) transaction would otherwise be refused.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    config = WebhookConfig.objects.get(token="tok-old")
    assert crypto.decrypt(config.secret_encrypted) == "plain-old-secret"
    columns = [
        c.name
        for c in connection.introspection.get_table_description(
            connection.cursor(), WebhookConfig._meta.db_table
        )
    ]
    assert "secret" not in columns


def test_rotating_the_encryption_key_reencrypts_webhook_secrets(hook, settings):
    old, new = list(settings.CDP_ENCRYPTION_KEYS), Fernet.generate_key().decode()
    settings.CDP_ENCRYPTION_KEYS = [new, *old]
    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.CDP_ENCRYPTION_KEYS = [new]
    hook.refresh_from_db()
    assert crypto.decrypt(hook.secret_encrypted) == hook.signing_secret
