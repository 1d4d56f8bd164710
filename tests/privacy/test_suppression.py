"""The suppression list: an erased person's identifiers, kept as keyed hashes under
versioned keys, are turned away at the door (counted per source) and dropped exactly when
processed (a message that got in before the suppression creates nobody and its raw row
goes); other people pass; rotating the hash key or the encryption key loses no one."""

import pytest
from django.db import connection

from cdp_site import crypto
from integrations import services as collect
from integrations.models import SuppressedCount, Suppression, SuppressionKey
from integrations.suppression import services as suppression
from profiles.models import Identity
from tests.profiles.conftest import drain, message

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    return collect.create_source(name="Shop backend", kind="server")


def _ingest(source, *messages):
    return collect.ingest_messages(source_id=source.id, messages=list(messages))


def _raw_count(user: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations_event WHERE user_id = %s", [user])
        return cursor.fetchone()[0]


def test_a_suppressed_person_is_turned_away_at_the_door_and_counted(shop):
    assert suppression.suppress(values=["alice", "alice@example.org"], reason="request 1") == 2
    result = _ingest(
        shop,
        message(userId="alice", event="Order Completed"),
        message("identify", userId="new-id", traits={"email": " Alice@Example.ORG "}),
        message(anonymousId="anon-1", context={"traits": {"email": "alice@example.org"}}),
        message(userId="bob", event="Order Completed"),
    )
    assert (result.stored, result.suppressed) == (1, 3)
    assert _raw_count("alice") == 0 and _raw_count("bob") == 1
    assert SuppressedCount.objects.get(source_id=shop.id).count == 3


def test_what_got_in_before_the_suppression_creates_nobody_when_processed(shop):
    _ingest(shop, message("identify", userId="carol", traits={"crmId": "C-9"}))
    suppression.suppress(values=["C-9"])  # known only as her CRM id, which the door skips
    drain()
    assert not Identity.objects.filter(value__in=["carol", "C-9"]).exists()
    assert _raw_count("carol") == 0
    assert SuppressedCount.objects.get(source_id=shop.id).count == 1
    _ingest(shop, message("identify", userId="dave"))
    drain()
    assert Identity.objects.filter(value="dave").exists()


def test_the_list_holds_keyed_hashes_never_the_values(shop):
    suppression.suppress(values=["erin@example.org"])
    (row,) = Suppression.objects.all()
    assert "erin" not in row.digest and len(row.digest) == 64
    (key,) = SuppressionKey.objects.all()
    assert len(bytes.fromhex(crypto.decrypt(key.key_encrypted))) == 32


def test_rotating_the_hash_key_keeps_every_earlier_suppression(shop):
    suppression.suppress(values=["frank"])
    assert suppression.rotate_key() == 2
    suppression.suppress(values=["gina"])
    assert set(Suppression.objects.values_list("key__version", flat=True)) == {1, 2}
    result = _ingest(shop, message(userId="frank"), message(userId="gina"), message(userId="hal"))
    assert (result.stored, result.suppressed) == (1, 2)


def test_rotating_the_encryption_key_re_encrypts_the_hash_keys(shop, settings):
    suppression.suppress(values=["ivy"])
    before = SuppressionKey.objects.get().key_encrypted
    settings.CDP_ENCRYPTION_KEYS = [crypto.generate_key(), *settings.CDP_ENCRYPTION_KEYS]
    assert suppression.rotate_encryption() == 1
    after = SuppressionKey.objects.get().key_encrypted
    assert after != before and crypto.decrypt(after) == crypto.decrypt(before)
    suppression._keys.clear()  # a new process: keys read again with the new encryption key
    assert suppression.suppressed_among(["ivy", "jo"]) == {"ivy"}


def test_the_source_page_says_how_many_messages_were_turned_away(shop, client_as):
    suppression.suppress(values=["kim"])
    _ingest(shop, message(userId="kim"), message(userId="kim", event="Order Completed"))
    page = client_as("Admin").get(f"/integrations/sources/{shop.pk}/")
    assert b"2 messages turned away in the last 7 days" in page.content
