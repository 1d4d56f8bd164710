"""Writes of the integrations app: sources, ingestion, rejections, processing triggers."""

import contextlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cdp_site import audit, crypto, debounce, retention
from cdp_site.dataerrors import is_data_error

from . import selectors
from .collect import keys, storage
from .collect.messages import SERVER, Rejection, Row, Trust, prepare
from .imports import files
from .models import CLIENT_KINDS, RejectedEvent, Source, SourceMinuteStats, new_write_key
from .suppression import services as suppression
from .tracking_plan import door as tracking_plan
from .tracking_plan.services import count_violations

logger = logging.getLogger(__name__)

TRIGGER_KEY = "cdp:collect:process-pending"
TRIGGER_SECONDS = 10
REJECTED_PAYLOAD_CHARS = 8192


# Sources -------------------------------------------------------------------------------


CLIENT_IP_RATE_LIMIT = 50  # messages a second from one visitor's address
SERVER_IP_RATE_LIMIT = 0  # a server sends a lot from few addresses: its source limit is enough


def default_trust(kind: str) -> str:
    return Source.Trust.CLIENT if kind in CLIENT_KINDS else Source.Trust.SERVER


@transaction.atomic
def create_source(
    *,
    name: str,
    kind: str,
    party: str = Source.Party.FIRST,
    enabled: bool = True,
    priority: int = 100,
    rate_limit: int = 50_000,
    trust: str | None = None,
    require_verification: bool = True,
    ip_rate_limit: int | None = None,
    revenue_property: str = "",
    currency: str = "",
) -> Source:
    """A new source; its trust follows its kind unless given (websites and apps are
    client sources, verification on), with a verification secret of its own."""
    trust = trust or default_trust(kind)
    if ip_rate_limit is None:
        client = trust == Source.Trust.CLIENT
        ip_rate_limit = CLIENT_IP_RATE_LIMIT if client else SERVER_IP_RATE_LIMIT
    source = Source.objects.create(
        name=name.strip(),
        kind=kind,
        party=party,
        enabled=enabled,
        priority=priority,
        rate_limit=rate_limit,
        trust=trust,
        require_verification=require_verification,
        ip_rate_limit=ip_rate_limit,
        revenue_property=revenue_property.strip(),
        currency=currency.strip().upper(),
        verification_secret_encrypted=crypto.encrypt(new_verification_secret()),
    )
    audit.record(action="source.create", target=source, details={"kind": kind, "trust": trust})
    return source


# What a source's owner may change (the sources page, the REST API): one list both read.
UPDATABLE = (
    "name",
    "kind",
    "party",
    "enabled",
    "priority",
    "rate_limit",
    "trust",
    "require_verification",
    "ip_rate_limit",
    "revenue_property",
    "currency",
    "personalize_origins",  # set by campaigns' personalisation settings
)
# Stored trimmed (and the currency upper-cased): the reports compare them as written.
_NORMALISE = {
    "name": str.strip,
    "revenue_property": str.strip,
    "currency": lambda code: code.strip().upper(),
}


class SourceArchived(Exception):
    """An archived source does not change (its keys stay refused); restore it first."""

    def __init__(self, source: Source):
        super().__init__(f"{source.name} is archived: restore it first.")


class SourceHasData(Exception):
    """The source sent events: deleting it would orphan them, so it is archived instead."""

    def __init__(self, source: Source, events: int):
        super().__init__(
            f"{source.name} has sent {events:,} events: it cannot be deleted. Archive it "
            "instead: it stops accepting data and leaves the lists, its history stays."
        )
        self.events = events


def _refuse_archived(source: Source) -> None:
    if source.archived_at is not None:
        raise SourceArchived(source)


@transaction.atomic
def update_source(*, source: Source, **changes) -> Source:
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    _refuse_archived(source)
    before = {field: getattr(source, field) for field in changes}
    for field, value in changes.items():
        setattr(source, field, _NORMALISE.get(field, lambda v: v)(value))
    source.save()
    after = {field: getattr(source, field) for field in changes}
    audit.record(action="source.update", target=source, details=audit.changed(before, after))
    keys.clear_cache()
    return source


def new_verification_secret() -> str:
    return secrets.token_hex(32)


@transaction.atomic
def rotate_verification_secret(*, source: Source) -> str:
    """A new identity-verification secret, returned once in clear; calls signed with the
    old one stop verifying at once (the site's backend must switch with it)."""
    secret = new_verification_secret()
    source.verification_secret_encrypted = crypto.encrypt(secret)
    source.save(update_fields=["verification_secret_encrypted", "updated_at"])
    audit.record(action="source.rotate_verification_secret", target=source)
    keys.clear_cache()
    return secret


def verification_secret(*, source: Source) -> str:
    """The source's secret in clear, for its admins to put in their backend (a source
    created before secrets existed gets one now)."""
    if not source.verification_secret_encrypted:
        return rotate_verification_secret(source=source)
    return crypto.decrypt(source.verification_secret_encrypted)


@transaction.atomic
def rotate_write_key(*, source: Source, grace: timedelta) -> Source:
    """A new key now; the current one keeps working until ``grace`` has passed (0: never)."""
    _refuse_archived(source)
    source.previous_write_key = source.write_key
    source.previous_key_valid_until = timezone.now() + grace
    source.write_key = new_write_key()
    source.save(
        update_fields=["write_key", "previous_write_key", "previous_key_valid_until", "updated_at"]
    )
    grace_seconds = int(grace.total_seconds())
    audit.record(action="source.rotate_write_key", target=source, details={"grace": grace_seconds})
    keys.clear_cache()
    return source


@transaction.atomic
def archive_source(*, source: Source) -> Source:
    """Archives a source: disabled, its write keys refused from now on, hidden from the
    lists; its events, imports, rejected messages and every profile fact it brought stay.
    Archiving an archived source changes nothing."""
    locked = Source.objects.select_for_update().get(pk=source.pk)
    if locked.archived_at is None:
        locked.archived_at = timezone.now()
        locked.enabled = False
        locked.save(update_fields=["archived_at", "enabled", "updated_at"])
        audit.record(action="source.archive", target=locked)
    keys.clear_cache()
    return locked


@transaction.atomic
def restore_source(*, source: Source) -> Source:
    """Back in the lists, still disabled: its senders get in again once an admin enables it
    (rotate its key first if it may have leaked meanwhile)."""
    locked = Source.objects.select_for_update().get(pk=source.pk)
    if locked.archived_at is not None:
        locked.archived_at = None
        locked.save(update_fields=["archived_at", "updated_at"])
        audit.record(action="source.restore", target=locked)
    keys.clear_cache()
    return locked


@transaction.atomic
def delete_source(*, source: Source) -> None:
    """Deletes a source that never stored an event, with its settings, imports (and their
    files) and rejected messages. One that did raises SourceHasData: archive it."""
    locked = Source.objects.select_for_update().get(pk=source.pk)
    if selectors.source_has_events(source=locked):
        raise SourceHasData(locked, selectors.source_event_count(source=locked))
    stored_files = [
        files.path_of(name) for name in locked.file_imports.values_list("stored_name", flat=True)
    ]
    audit.record(action="source.delete", target=locked, details={"name": locked.name})
    locked.delete()
    keys.clear_cache()
    transaction.on_commit(lambda: [path.unlink(missing_ok=True) for path in stored_files])


# Ingestion -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    stored: int  # new events written
    duplicates: int  # valid messages whose messageId this source had sent before
    rejections: list[Rejection]
    suppressed: int = 0  # valid messages dropped for carrying an erased person's identifier
    violations: int = 0  # breaches of the source's tracking plan (each message's, summed)


def _storable(payload):
    """The rejected payload as jsonb accepts it: no NUL, no lone surrogates, no NaN or
    Infinity (kept as the strings "NaN", "Infinity"), bounded size."""
    try:
        text = json.dumps(payload, ensure_ascii=False)
    except (RecursionError, ValueError, TypeError):
        return {"unreadable": True}
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\\u0000", "\\ufffd")
    if len(text) > REJECTED_PAYLOAD_CHARS:
        return {"truncated": text[:REJECTED_PAYLOAD_CHARS]}
    try:
        return json.loads(text, parse_constant=str)
    except (RecursionError, ValueError):
        return {"truncated": text[:REJECTED_PAYLOAD_CHARS]}


def _readable(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def record_rejections(*, source_id: int, rejections: list[Rejection], received_at=None) -> None:
    if not rejections:
        return
    received_at = received_at or timezone.now()
    RejectedEvent.objects.bulk_create(
        RejectedEvent(
            source_id=source_id,
            code=r.code,
            reason=r.reason[:500],
            payload=_storable(r.payload),
            received_at=received_at,
        )
        for r in rejections
    )


def ingest_messages(
    *,
    source_id: int,
    messages: list,
    type_: str | None = None,
    received_at: datetime | None = None,
    ip: str | None = None,
    trust: Trust | None = None,
) -> IngestResult:
    """Validates Segment-style messages and stores the valid ones durably; the one entry point.

    ``type_`` forces the type (single-message endpoints); otherwise each message carries
    its own ``type``. Invalid messages go to the source's rejected list, valid ones beside
    them are kept. Messages with a messageId this source sent before are stored once.
    ``trust``: how far the messages' identity claims are believed; by default the
    source's own (a client source's calls must be signed to link to known customers).
    Processing is queued after the COMMIT. Returns counts and the rejections.
    """
    received_at = received_at or timezone.now()
    trust = trust or _trust_of(source_id)
    pairs: list[tuple[Row, dict]] = []
    rejections: list[Rejection] = []
    for message in messages:
        prepared = prepare(message, type_=type_, received_at=received_at, ip=ip, trust=trust)
        if isinstance(prepared, Row):
            pairs.append((prepared, message))
        else:
            rejections.append(prepared)
    # An erased person's identifiers are turned away here (the API, webhooks, imports and
    # pull syncs all pass by), counted for the source; processing checks again, exactly.
    rows, suppressed = suppression.screen(source_id=source_id, pairs=pairs, received_at=received_at)
    # The source's tracking plan: violations counted, and per its mode the event stored as
    # sent, stored without what is not planned, or refused (to the rejected list).
    planned = tracking_plan.check(source_id=source_id, pairs=_kept_pairs(pairs, rows))
    rows = planned.rows
    rejections += planned.rejections
    # Rows, rejections and violation counts: more than one statement share a transaction. One
    # statement (dedupe, events and inbox in one INSERT) is atomic by itself: outside a
    # caller's transaction it commits on its own, saving the BEGIN/COMMIT round trip that
    # dominates a single /v1/track request. Inside one (file imports), it joins it.
    statements = bool(rows) + bool(rejections) + bool(planned.violations)
    with transaction.atomic() if statements > 1 else contextlib.nullcontext():
        stored = store_rows(
            source_id=source_id,
            rows=rows,
            received_at=received_at,
            rejections=rejections,
            expiring=trust.client,
        )
        record_rejections(source_id=source_id, rejections=rejections, received_at=received_at)
        # Last: concurrent batches of the same source wait on these counters' rows only
        # for the end of the transaction, not through the events' insert.
        count_violations(source_id=source_id, violations=planned.violations, at=received_at)
    if stored:
        transaction.on_commit(trigger_processing_soon)
    return IngestResult(
        stored=stored,
        duplicates=len(rows) - stored,
        rejections=rejections,
        suppressed=suppressed,
        violations=len(planned.violations),
    )


def _kept_pairs(pairs: list[tuple[Row, dict]], rows: list[Row]) -> list[tuple[Row, dict]]:
    """The pairs whose rows the suppression screen kept (it answers rows only)."""
    if len(rows) == len(pairs):
        return pairs
    kept = {id(row) for row in rows}
    return [pair for pair in pairs if id(pair[0]) in kept]


def _trust_of(source_id: int) -> Trust:
    source = keys.source_by_id(source_id)
    return source.trust if source is not None else SERVER


def store_rows(
    *,
    source_id: int,
    rows: list[Row],
    received_at: datetime,
    rejections: list[Rejection],
    expiring: bool = False,
) -> int:
    """Stores prepared rows; returns how many were new. A row the database refuses (a
    value ``prepare`` let through that PostgreSQL cannot hold) is found by halving and
    appended to ``rejections``, and the rest are stored. On clean data this is the one
    statement, with nothing around it. ``expiring``: see storage.insert_rows."""
    insert = {
        "source_id": source_id,
        "rows": rows,
        "received_at": received_at,
        "expiring": expiring,
    }
    try:
        if not connection.in_atomic_block:
            return storage.insert_rows(**insert)
        with transaction.atomic():  # a savepoint, so that a failure leaves the caller usable
            return storage.insert_rows(**insert)
    # storage writes through psycopg directly, so its errors arrive unwrapped by Django.
    except (DatabaseError, psycopg.Error) as exc:
        if not is_data_error(exc):
            raise
        if len(rows) == 1:
            logger.warning("message %s refused by the database: %s", rows[0].message_id, exc)
            reason = "The message holds a value the database cannot store."
            rejections.append(Rejection("unstorable", reason, _readable(rows[0].payload)))
            return 0
    middle = len(rows) // 2
    return sum(
        store_rows(
            source_id=source_id,
            rows=part,
            received_at=received_at,
            rejections=rejections,
            expiring=expiring,
        )
        for part in (rows[:middle], rows[middle:])
    )


# Processing triggers and housekeeping --------------------------------------------------

PROCESSING_TASK = "integrations.tasks.process_event_batch"  # queued by name: tasks import us


def trigger_processing() -> None:
    """Queues one processing task unless one is already pending (a Redis flag debounces)."""
    debounce.queue_once(TRIGGER_KEY, PROCESSING_TASK, seconds=TRIGGER_SECONDS)


def trigger_processing_soon() -> None:
    """``trigger_processing`` off the caller's path (what ingestion asks after its commit):
    the API's answer does not wait on Redis."""
    debounce.queue_once_soon(TRIGGER_KEY, PROCESSING_TASK, seconds=TRIGGER_SECONDS)


def clear_processing_trigger() -> None:
    debounce.clear(TRIGGER_KEY)


def purge_rejected_events(*, now: datetime | None = None) -> int:
    """Rejected messages past COLLECT_REJECTED_RETENTION_DAYS (the senders' diagnostics)."""
    cutoff = retention.cutoff("COLLECT_REJECTED_RETENTION_DAYS", now=now)
    if cutoff is None:
        return 0
    return retention.delete_in_batches(RejectedEvent.objects.filter(received_at__lt=cutoff))


def purge_minute_stats(*, now: datetime | None = None) -> int:
    """Per-minute counts past COLLECT_MINUTE_STATS_RETENTION_DAYS: only the live chart reads
    them, and it shows the last hour."""
    cutoff = retention.cutoff("COLLECT_MINUTE_STATS_RETENTION_DAYS", now=now)
    if cutoff is None:
        return 0
    return retention.delete_in_batches(SourceMinuteStats.objects.filter(minute__lt=cutoff))
