# ruff: noqa: F811 (fixtures imported from test_destinations_adapters)
import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as live
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from cdp_site import crypto
from cdp_site.celery import app
from integrations.destinations import adapters, services, tasks
from integrations.destinations.checks import encryption_keys_check
from integrations.destinations.models import DeadLetter, Destination
from segments import services as segment_services
from segments import tasks as segment_tasks
from tests.support import segment_rules

from .test_destinations_adapters import http_server, smtp_destination, webhook  # noqa: F401


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- encryption ----------------------------------------------------------------------


def test_encrypt_round_trip_and_tokens_differ(settings):
    settings.CDP_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    first, second = crypto.encrypt("s3cret"), crypto.encrypt("s3cret")
    assert first != second and "s3cret" not in first
    assert crypto.decrypt(first) == crypto.decrypt(second) == "s3cret"


def test_a_token_from_an_unknown_key_is_refused(settings):
    settings.CDP_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = crypto.encrypt("x")
    settings.CDP_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_rotation_command_reencrypts_with_the_new_key_so_the_old_can_go(db, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CDP_ENCRYPTION_KEYS = [old]
    destination = services.create_destination(
        name="ESP",
        kind="esp_list",
        config={"base_url": "http://127.0.0.1:1", "list_id": "L1"},
        secrets={"api_key": "key-abcdef-us1"},
    )
    settings.CDP_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.CDP_ENCRYPTION_KEYS = [new]
    destination.refresh_from_db()
    assert services.get_secrets(destination=destination) == {"api_key": "key-abcdef-us1"}
    Fernet(new.encode()).decrypt(destination.secrets_encrypted.encode())


def test_blank_secret_keeps_the_stored_one(db):
    destination = services.create_destination(
        name="Hook", kind="webhook", config={"url": "http://x"}, secrets={"signing_secret": "a"}
    )
    services.update_destination(destination=destination, secrets={"signing_secret": ""})
    assert services.get_secrets(destination=destination) == {"signing_secret": "a"}
    services.update_destination(destination=destination, secrets={"signing_secret": "b"})
    assert services.get_secrets(destination=destination) == {"signing_secret": "b"}


# --- audiences -----------------------------------------------------------------------

PEOPLE = [
    {"email": "  Ada@Example.ORG ", "phone": "+44 20 7946 0958"},
    {"email": "bob@example.org"},
    {"phone": "(202) 555-0143"},
    {"email": "not an address", "phone": "123"},
]


def audience(kind, url):
    return services.create_destination(
        name=kind,
        kind=kind,
        config={"endpoint": url + "/audience", "phone_region": "US"},
        secrets={"access_token": "tok-123456789"},
    )


@pytest.mark.parametrize(("action", "verb"), [("add", "create"), ("remove", "remove")])
def test_google_customer_match_hashes_normalised_identifiers(db, http_server, action, verb):
    destination = audience("google_customer_match", http_server.url)
    sent = adapters.audience_update(destination, action=action, people=PEOPLE)
    assert sent == 3
    request = http_server.requests[0]
    assert request["method"] == "POST"
    assert request["headers"]["authorization"] == "Bearer tok-123456789"
    assert json.loads(request["body"]) == {
        "operations": [
            {
                verb: {
                    "userIdentifiers": [
                        {"hashedEmail": sha("ada@example.org")},
                        {"hashedPhoneNumber": sha("+442079460958")},
                    ]
                }
            },
            {verb: {"userIdentifiers": [{"hashedEmail": sha("bob@example.org")}]}},
            {verb: {"userIdentifiers": [{"hashedPhoneNumber": sha("+12025550143")}]}},
        ]
    }


@pytest.mark.parametrize(("action", "method"), [("add", "POST"), ("remove", "DELETE")])
def test_meta_custom_audience_schema_and_method(db, http_server, action, method):
    destination = audience("meta_custom_audience", http_server.url)
    assert adapters.audience_update(destination, action=action, people=PEOPLE) == 3
    request = http_server.requests[0]
    assert request["method"] == method and request["path"] == "/audience"
    assert json.loads(request["body"]) == {
        "payload": {
            "schema": ["EMAIL_SHA256", "PHONE_SHA256"],
            "data": [
                [sha("ada@example.org"), sha("+442079460958")],
                [sha("bob@example.org"), ""],
                ["", sha("+12025550143")],
            ],
        }
    }


def test_audience_with_nobody_usable_sends_nothing(db, http_server):
    destination = audience("meta_custom_audience", http_server.url)
    assert adapters.audience_update(destination, action="add", people=[{"email": "x"}]) == 0
    assert http_server.requests == []


# --- e-mail platform list ------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status"),
    [("subscribe", "subscribed"), ("unsubscribe", "unsubscribed"), ("update", None)],
)
def test_esp_member_puts_mailchimp_style(db, http_server, action, status):
    destination = services.create_destination(
        name="List",
        kind="esp_list",
        config={"base_url": http_server.url + "/3.0/", "list_id": "abc123"},
        secrets={"api_key": "key-abcdef-us1"},
    )
    code = adapters.esp_member(
        destination, action=action, email=" Ada@Example.org", merge_fields={"FNAME": "Ada"}
    )
    assert code == 200
    request = http_server.requests[0]
    member = hashlib.md5(b"ada@example.org").hexdigest()  # noqa: S324
    assert request["method"] == "PUT"
    assert request["path"] == f"/3.0/lists/abc123/members/{member}"
    user, key = base64.b64decode(request["headers"]["authorization"][6:]).decode().split(":")
    assert key == "key-abcdef-us1"
    expected = {
        "email_address": "ada@example.org",
        "status_if_new": status or "subscribed",
        "merge_fields": {"FNAME": "Ada"},
    }
    if status:
        expected["status"] = status
    assert json.loads(request["body"]) == expected


# --- CSV -----------------------------------------------------------------------------


@pytest.fixture
def export_root(settings, tmp_path):
    settings.CDP_EXPORT_ROOT = tmp_path
    return tmp_path


def test_csv_export_writes_atomically_into_the_folder(db, export_root):
    tmp_path = export_root
    destination = services.create_destination(
        name="Files", kind="csv_export", config={"folder": "out"}
    )
    path = adapters.export_segment_csv(
        destination, rows=iter(["id,email\r\n", "1,a@b.c\r\n"]), name="VIP buyers/2024"
    )
    assert path.parent == tmp_path / "out"
    assert path.name == "VIP-buyers-2024.csv"
    assert path.read_bytes() == b"id,email\r\n1,a@b.c\r\n"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_csv_export_failure_leaves_no_partial_file(db, export_root):
    tmp_path = export_root
    destination = services.create_destination(
        name="Files", kind="csv_export", config={"folder": "."}
    )

    def rows():
        yield "a,b\n"
        raise RuntimeError("segment query failed")

    with pytest.raises(RuntimeError):
        adapters.export_segment_csv(destination, rows=rows(), name="x")
    assert list(tmp_path.iterdir()) == []


# --- test connection -----------------------------------------------------------------


def test_connection_checks_per_kind(db, smtp_destination, webhook, http_server, export_root):
    ok, message = services.record_test(destination=smtp_destination)
    assert ok, message
    assert services.record_test(destination=webhook)[0]
    assert http_server.requests[-1]["method"] == "OPTIONS"
    folder = services.create_destination(name="F", kind="csv_export", config={"folder": "f"})
    assert services.record_test(destination=folder)[0]
    http_server.status = 401
    esp = services.create_destination(
        name="L",
        kind="esp_list",
        config={"base_url": http_server.url, "list_id": "1"},
        secrets={"api_key": "k"},
    )
    ok, message = services.record_test(destination=esp)
    assert not ok and "401" in message
    esp.refresh_from_db()
    assert esp.last_test_ok is False and esp.last_test_at is not None


# --- retries, dead letters, replay ---------------------------------------------------


@pytest.fixture
def eager(settings):
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


# A retry is queued through the outbox once the task's transaction commits: these tests
# commit for real.
eager_and_committed = pytest.mark.django_db(transaction=True)


@eager_and_committed
def test_retryable_failures_retry_then_dead_letter_then_replay(
    webhook,
    http_server,
    eager,
):
    http_server.status = 503
    tasks.deliver_webhook.delay(webhook.pk, {"n": 1}, "key-1")
    assert len(http_server.requests) == services.WEBHOOK_ATTEMPTS
    assert {r["headers"]["idempotency-key"] for r in http_server.requests} == {"key-1"}
    letter = DeadLetter.objects.get()
    assert letter.attempts == services.WEBHOOK_ATTEMPTS and "503" in letter.error
    assert letter.payload == {"n": 1} and letter.replayed_at is None

    http_server.status = 200
    ok, _ = services.replay_dead_letter(dead_letter=letter)
    assert ok and letter.replayed_at is not None
    replayed = http_server.requests[-1]
    assert replayed["headers"]["idempotency-key"] == "key-1"
    assert json.loads(replayed["body"]) == {"n": 1}


@eager_and_committed
def test_a_4xx_goes_to_dead_letters_at_once(webhook, http_server, eager):
    http_server.status = 422
    tasks.deliver_webhook.delay(webhook.pk, {"n": 2}, "key-2")
    assert len(http_server.requests) == 1
    assert DeadLetter.objects.get().attempts == 1


def test_backoff_grows_exponentially():
    assert [services.retry_delay(n) for n in range(1, 5)] == [10, 20, 40, 80]


@eager_and_committed
def test_success_stores_nothing(webhook, http_server, eager):
    tasks.deliver_webhook.delay(webhook.pk, {"n": 3}, "key-3")
    assert DeadLetter.objects.count() == 0
    assert Destination.objects.get(pk=webhook.pk).dead_letters.count() == 0


# --- scheduled CSV export ------------------------------------------------------------


def test_scheduled_export_writes_the_segment_then_waits_for_its_interval(db, export_root):
    tmp_path = export_root

    segment = segment_services.create_segment(
        name="Dutch",
        rule=segment_rules.rule({"type": "trait", "key": "country", "op": "equals", "value": "NL"}),
    )
    destination = services.create_destination(
        name="Nightly",
        kind="csv_export",
        config={"folder": ".", "segment_id": segment.pk, "every_hours": 24},
    )
    assert segment_tasks.run_scheduled_exports() == 1
    files = list(tmp_path.glob("*.csv"))
    assert len(files) == 1 and files[0].name.startswith("Dutch-")
    assert files[0].read_text().splitlines()[0].startswith("profile_id,name,email,phone")
    destination.refresh_from_db()
    assert destination.config["last_export_at"]
    assert segment_tasks.run_scheduled_exports() == 0  # not due again for 24 hours
    # Editing the destination keeps the schedule's bookkeeping.
    services.update_destination(destination=destination, config={**destination.config})
    assert "last_export_at" in destination.config


def test_without_keys_the_check_and_first_use_refuse_with_a_clear_message(settings):
    settings.CDP_ENCRYPTION_KEYS = []
    [error] = encryption_keys_check()
    assert error.id == "cdp.E101" and "CDP_ENCRYPTION_KEYS is not set" in error.msg
    with pytest.raises(ImproperlyConfigured, match="CDP_ENCRYPTION_KEYS is not set"):
        crypto.encrypt("x")
    settings.CDP_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert encryption_keys_check() == []


def test_production_without_keys_fails_manage_check(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"CDP_ENCRYPTION_KEYS", "DEBUG"}}
    env.update(
        CDP_MODE="production",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="cdp.example.com",
        CDP_VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=live.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CDP_ENCRYPTION_KEYS is not set" in result.stderr
