"""Writes of the suppression list, and its checks (what other apps may use: ``suppress``,
``rotate_key``, ``screen`` for the door, ``suppressed_among`` and ``discard`` for
processing, ``rotate_encryption``).

Contract:
- A suppressed identifier is stored as HMAC-SHA256(key, value) under the current key
  version, never as the value. Values are compared as identity resolution stores them
  (trimmed; e-mail addresses lower-cased): profiles hands in its identities' values.
- The keys are versioned and encrypted at rest; a new version (``rotate_key``) hashes new
  suppressions, and every version with suppressions keeps being checked.
- The door (``screen``) drops a message whose userId, anonymousId or traits e-mail is
  suppressed and counts it per source and day. It asks the database nothing per batch:
  each process keeps the first 8 bytes of every digest on the list (``_Door``: about 70
  bytes an entry), read incrementally every few seconds with the keys, and asks the exact
  question only for a value whose prefix is there. The exact check is processing's
  (``suppressed_among`` with the keys read again, over every identifier profiles
  extracts, then ``discard`` deletes the raw rows it drops), so nothing slips through in
  the seconds a process has not yet read.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from collections import Counter
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from cdp_site.contact_points import normalize_email
from cdp_site.crypto import decrypt, encrypt, rotate
from cdp_site.pgarrays import adapt

from .models import Suppression, SuppressionKey

FLAG_SECONDS = 3.0  # how long the door trusts what it knows of the list and its keys
_keys: dict[int, bytes] = {}  # version -> key, decrypted once per process
_keys_until = 0.0  # the door reads the keys again after this (time.monotonic)

INSERT = """
INSERT INTO integrations_suppression (key_id, digest, reason, created_at)
SELECT %s, d, %s, now() FROM unnest(%s::text[]) AS d
ON CONFLICT (key_id, digest) DO NOTHING
"""
FOUND = "SELECT DISTINCT digest FROM integrations_suppression WHERE digest = ANY(%s)"
COUNT = """
INSERT INTO integrations_suppressedcount (source_id, day, count)
SELECT * FROM unnest(%s::bigint[], %s::date[], %s::bigint[])
ON CONFLICT (source_id, day)
DO UPDATE SET count = integrations_suppressedcount.count + EXCLUDED.count
"""
DISCARD = "DELETE FROM integrations_event WHERE id = ANY(%s)"


@functools.lru_cache(maxsize=200_000)
def _digest(key: bytes, value: str) -> str:
    # Remembered: the door hashes every identifier of every message, and a visitor's ids
    # come back in batch after batch (a hash costs about a microsecond, a hit a tenth).
    return hmac.digest(key, value.encode("utf-8", "surrogatepass"), "sha256").hex()


def _all_keys(*, fresh: bool = True) -> dict[int, bytes]:
    """Every key version, decrypted; read again when a version is missing (a rotation in
    another process). ``fresh=False`` (the door): as read within FLAG_SECONDS."""
    global _keys_until
    if not fresh and _keys and time.monotonic() < _keys_until:
        return _keys
    _keys_until = time.monotonic() + FLAG_SECONDS
    stored = dict(SuppressionKey.objects.values_list("pk", "key_encrypted"))
    if set(stored) != set(_keys):
        _keys.clear()
        _keys.update({pk: bytes.fromhex(decrypt(token)) for pk, token in stored.items()})
    return _keys


def _current_key() -> tuple[int, bytes]:
    keys = _all_keys()
    if not keys:
        return _new_key()
    pk = SuppressionKey.objects.order_by("-version").values_list("pk", flat=True)[0]
    return pk, keys[pk]


def _new_key() -> tuple[int, bytes]:
    last = SuppressionKey.objects.order_by("-version").values_list("version", flat=True).first()
    raw = secrets.token_bytes(32)
    made = SuppressionKey.objects.create(version=(last or 0) + 1, key_encrypted=encrypt(raw.hex()))
    _keys[made.pk] = raw
    return made.pk, raw


@transaction.atomic
def suppress(*, values: Iterable[str], reason: str = "") -> int:
    """Adds the values (identifiers as profiles stores them) to the list; returns how
    many were new under the current key."""
    clean = sorted({str(v).strip() for v in values if str(v).strip()})
    if not clean:
        return 0
    key_id, key = _current_key()
    with connection.cursor() as cursor:
        cursor.execute(INSERT, adapt([key_id, reason[:200], [_digest(key, v) for v in clean]]))
        _door.read_until = 0.0  # this process's door reads them at its next batch
        return cursor.rowcount


@transaction.atomic
def rotate_key() -> int:
    """A new key version for new suppressions; the old ones stay checked. Returns it."""
    key_id, _ = _new_key()
    return SuppressionKey.objects.get(pk=key_id).version


def suppressed_among(values: Iterable[str], *, fresh_keys: bool = True) -> set[str]:
    """The values that are on the list (the exact check; ``fresh_keys=False``, the door's:
    the keys as the process read them within a few seconds)."""
    wanted = {str(v).strip() for v in values if v not in (None, "")}
    if not wanted:
        return set()
    keys = _all_keys(fresh=fresh_keys)
    if not keys:
        return set()
    by_digest = {_digest(key, v): v for v in wanted for key in keys.values()}
    with connection.cursor() as cursor:
        cursor.execute(FOUND, adapt([list(by_digest)]))
        return {by_digest[row[0]] for row in cursor}


class _Door:
    """What this process knows of the list: the first 8 bytes of each digest, as ints,
    read again incrementally (rows past the last id read) every FLAG_SECONDS."""

    RELOAD_SECONDS = 600.0

    def __init__(self):
        self.prefixes: set[int] = set()
        self.last_id = 0
        self.read_until = 0.0
        self.reload_at = time.monotonic() + self.RELOAD_SECONDS

    def known(self) -> set[int]:
        if time.monotonic() >= self.reload_at:
            # Ids are taken before their transactions commit: a row committed after a
            # higher id was read would be missed for good by the incremental reads (the
            # processing check still drops its events); a whole read now and then sees it.
            self.prefixes, self.last_id = set(), 0
            self.reload_at = time.monotonic() + self.RELOAD_SECONDS
        if time.monotonic() >= self.read_until:
            self.read_until = time.monotonic() + FLAG_SECONDS
            new = Suppression.objects.filter(id__gt=self.last_id).values_list("id", "digest")
            for pk, digest in new.order_by("id").iterator(chunk_size=10_000):
                self.prefixes.add(_prefix(digest))
                self.last_id = pk
        return self.prefixes


def _prefix(digest: str) -> int:
    return int(digest[:16], 16)


_door = _Door()


def _maybe_suppressed(values: set[str]) -> set[str]:
    """The values whose digest's prefix is on the list as this process knows it."""
    known = _door.known()
    if not known or not values:
        return set()
    keys = _all_keys(fresh=False).values()
    return {v for v in values if any(_prefix(_digest(k, v)) in known for k in keys)}


def door_values(message: dict) -> list[str]:
    """The identifiers the door checks in a client message."""
    found = [message.get("userId"), message.get("anonymousId")]
    for traits in (message.get("traits"), (message.get("context") or {}).get("traits")):
        if isinstance(traits, dict):
            found.append(normalize_email(traits.get("email")))
    return [str(v) for v in found if v not in (None, "") and not isinstance(v, dict | list)]


def screen(*, source_id: int, pairs: list[tuple], received_at) -> tuple[list, int]:
    """The door: of (row, message) pairs, the rows to store and how many were dropped
    for a suppressed identifier (counted for the source)."""
    if not pairs:
        return [], 0
    values = {id(row): door_values(message) for row, message in pairs}
    maybe = _maybe_suppressed({v for vs in values.values() for v in vs})
    if not maybe:  # the usual case: no question to the database
        return [row for row, _ in pairs], 0
    hit = suppressed_among(maybe, fresh_keys=False)
    kept = [row for row, _ in pairs if not hit.intersection(values[id(row)])]
    dropped = len(pairs) - len(kept)
    if dropped:
        count(Counter({source_id: dropped}), day=received_at.date())
    return kept, dropped


def count(per_source: Counter, *, day=None) -> None:
    day = day or timezone.now().date()
    sources = sorted(per_source)
    with connection.cursor() as cursor:
        cursor.execute(
            COUNT, adapt([sources, [day] * len(sources), [per_source[s] for s in sources]])
        )


def discard(*, events: list[dict]) -> int:
    """Processing's drop: the events' raw rows deleted (what they carried is an erased
    person's), counted per source. Runs in the processing batch's transaction."""
    if not events:
        return 0
    count(Counter(e["source_id"] for e in events))
    with connection.cursor() as cursor:
        cursor.execute(DISCARD, adapt([[e["id"] for e in events]]))
        return cursor.rowcount


def rotate_encryption() -> int:
    """Re-encrypts the stored keys with the first CDP_ENCRYPTION_KEYS key."""
    done = 0
    for key in SuppressionKey.objects.all():
        key.key_encrypted = rotate(key.key_encrypted)
        key.save(update_fields=["key_encrypted"])
        done += 1
    return done
