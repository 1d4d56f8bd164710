"""One slice of a sync run, top to bottom: read a page, map it, store it with the cursor.

Contract (the tasks call ``run_slice(run_id=, seq=)`` and queue what it returns):

1. The run must be active and at slice ``seq``; otherwise the task is stale (a duplicate
   delivery, or a slice that another worker already stored) and does nothing.
2. The page is read outside any transaction (an HTTP call must not hold locks).
3. In one transaction: the run is claimed by moving ``slice_seq`` on (a conditional
   UPDATE, so of two workers holding the same slice one stores and the other rolls back),
   the page's messages are stored durably (``ingest_messages``: messageId dedupe) or, for
   a stream with its own ``store`` (a file drop's files, a shop's products), stored its
   own way with its ``after_commit`` run after the COMMIT; the
   rejected records are kept with their reason, the stream's cursor advances and the
   counters add up. A worker killed anywhere before the COMMIT leaves the cursor where it
   was: the retried slice reads the same page, and its messages are stored once.
4. The next slice is queued after the COMMIT (after ``Page.wait`` when the read asked for
   a pause); a rate limit or a retryable error queues the same slice later
   (``Retry-After``, or backoff with jitter), so no task sleeps and none outlives the
   broker's visibility timeout.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.collect.messages import Rejection
from integrations.services import ingest_messages, record_rejections

from .base import STREAM_OVERRIDES, ConnectorError, Page, RateLimited, Stored, Stream
from .credentials import secrets_of, set_secrets
from .http import Reader
from .models import Connection, StreamState, SyncRun
from .records import Mapper
from .registry import kind_of

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
ERRORS_KEPT = 50
ERROR_RECORD_CHARS = 2000


@dataclass(frozen=True)
class Next:
    """What the task queues after a slice: the same run at ``seq`` after ``delay``
    seconds, or nothing (``seq`` None) when the run ended or the slice was stale."""

    seq: int | None = None
    delay: float = 0.0


DONE = Next()


class _Stale(Exception):
    pass


def reader_for(connection: Connection) -> Reader:
    kind = kind_of(connection.kind)
    secrets = secrets_of(connection)
    base_url = connection.base_url
    if kind.base_url_for is not None:
        base_url = kind.base_url_for(base_url, secrets)
    return Reader(
        connection_id=connection.id,
        base_url=base_url,
        config=connection.config,
        secrets=secrets,
        budget=connection.request_budget or kind.default_budget,
        on_secrets=lambda changed: set_secrets(connection=connection, secrets=changed),
    )


def effective_stream(connection: Connection, stream: Stream) -> Stream:
    """The kind's stream with what the admin changed: its primary key, its updated-at
    and the kind of call its records become (not for a stream with its own ``store``:
    its records are not messages, and no setting turns them into some)."""
    configure = kind_of(connection.kind).configure_stream
    if configure:
        stream = configure(connection.config, stream)
    spec = connection.streams.get(stream.name) or {}
    changed = {k: spec[k] for k in STREAM_OVERRIDES if spec.get(k)}
    if stream.store is not None:
        changed.pop("message_kind", None)
    return replace(stream, **changed) if changed else stream


def run_slice(*, run_id: int, seq: int) -> Next:
    run = SyncRun.objects.select_related("connection").filter(id=run_id).first()
    if run is None or not run.active or run.slice_seq != seq:
        return DONE
    if run.cancel_requested:
        return _end(run, seq, status=SyncRun.Status.CANCELLED)
    if run.current_stream is None:
        return _end(run, seq, status=SyncRun.Status.SUCCEEDED)
    connection = run.connection
    try:
        kind = kind_of(connection.kind)
        stream = effective_stream(connection, kind.stream(run.current_stream))
    except (ConnectorError, KeyError):
        return _end(run, seq, error=f"The stream {run.current_stream!r} no longer exists.")
    state, _ = StreamState.objects.get_or_create(connection=connection, stream=stream.name)
    reader = reader_for(connection)
    try:
        page = kind.read(reader, stream=stream, cursor=state.cursor)
    except RateLimited as exc:
        return _wait(run, seq, exc, delay=exc.retry_after, reader=reader)
    except ConnectorError as exc:
        if exc.retryable and run.retries < MAX_RETRIES:
            return _wait(run, seq, exc, delay=_backoff(run.retries), reader=reader, failed=True)
        return _end(run, seq, error=exc.message, requests=reader.requests)
    if not page.done and page.cursor == state.cursor:
        return _end(
            run,
            seq,
            error="The service answered the same page again (its cursor did not move); the "
            "run stops rather than read it forever.",
            requests=reader.requests,
        )
    try:
        return _store(run, seq, state=state, stream=stream, page=page, reader=reader)
    except _Stale:
        return DONE


def _store(run: SyncRun, seq: int, *, state, stream, page: Page, reader: Reader) -> Next:
    connection = run.connection
    history = state.last_full_sync_at is None or run.trigger == SyncRun.Trigger.FULL
    store = stream.store or partial(_store_messages, history=history)
    now = timezone.now()
    last_stream = page.done and run.stream_index + 1 >= len(run.streams)
    unshaped = [Rejection("connector_record", reason, record) for reason, record in page.rejected]
    read = len(page.records) + len(page.rejected)
    with transaction.atomic():
        if not _claim(run, seq):
            raise _Stale
        kept = store(connection=connection, stream=stream, page=page, reader=reader, now=now)
        record_rejections(source_id=connection.source_id, rejections=unshaped, received_at=now)
        rejections = unshaped + kept.rejections
        state.cursor = page.cursor
        if page.done and history:
            state.last_full_sync_at = now
        state.save()
        SyncRun.objects.filter(id=run.id).update(
            pages=F("pages") + 1,
            requests=F("requests") + reader.requests,
            records_read=F("records_read") + read,
            remaining=_remaining(run, page, read),
            stored=F("stored") + kept.stored,
            duplicates=F("duplicates") + kept.duplicates,
            rejected=F("rejected") + len(rejections),
            stream_index=F("stream_index") + (1 if page.done else 0),
            retries=0,
            waiting_until=None,
            note=page.note[:300],
            errors=_with_errors(run, stream.name, rejections),
        )
        if last_stream:
            _finish(run, status=SyncRun.Status.SUCCEEDED, now=now)
    if kept.after_commit is not None:
        try:
            kept.after_commit()
        except Exception:  # the page is stored; what follows it must not undo that
            logger.exception("after-commit step of run %s failed", run.id)
    return DONE if last_stream else Next(seq=seq + 1, delay=page.wait)


def _remaining(run: SyncRun, page: Page, read: int) -> int | None:
    """The current stream's records still to read: the page's estimate, else the last one
    less this page; unknown once the stream is done (the next stream's pages say)."""
    if page.done:
        return None
    if page.remaining is not None:
        return max(page.remaining, 0)
    return None if run.remaining is None else max(run.remaining - read, 0)


def _store_messages(*, connection, stream, page: Page, reader, now, history: bool) -> Stored:
    """A page's records → messages, stored durably (messageId dedupe)."""
    mapper = Mapper(
        connection_id=connection.id,
        stream=stream,
        rules=(connection.streams.get(stream.name) or {}).get("rules") or [],
        trigger_after=connection.trigger_after,
        history=history,
    )
    messages, rejections = mapper.messages(page.records)
    result = ingest_messages(source_id=connection.source_id, messages=messages, received_at=now)
    # The messages' own rejections are recorded by ingest_messages; the records that
    # could not become messages are recorded here, beside them.
    record_rejections(source_id=connection.source_id, rejections=rejections, received_at=now)
    return Stored(
        stored=result.stored,
        duplicates=result.duplicates,
        rejections=rejections + result.rejections,
    )


def _claim(run: SyncRun, seq: int) -> bool:
    return bool(
        SyncRun.objects.filter(id=run.id, slice_seq=seq, status__in=SyncRun.ACTIVE).update(
            slice_seq=seq + 1, status=SyncRun.Status.RUNNING, last_slice_at=timezone.now()
        )
    )


def _with_errors(run: SyncRun, stream: str, rejections) -> list:
    kept = list(run.errors)
    for rejection in rejections[: max(0, ERRORS_KEPT - len(kept))]:
        record = json.dumps(rejection.payload, default=str)[:ERROR_RECORD_CHARS]
        kept.append({"stream": stream, "reason": rejection.reason, "record": record})
    return kept


def _backoff(retries: int) -> float:
    # Exponential with full jitter: many connections failing together do not come back
    # together.
    return random.uniform(1.0, 2.0 ** (retries + 2))


@transaction.atomic
def _wait(run: SyncRun, seq: int, exc: ConnectorError, *, delay, reader, failed=False) -> Next:
    if not _claim(run, seq):
        return DONE
    SyncRun.objects.filter(id=run.id).update(
        requests=F("requests") + reader.requests,
        retries=F("retries") + (1 if failed else 0),
        waiting_until=timezone.now() + timedelta(seconds=delay),
        note=exc.message[:300],
    )
    return Next(seq=seq + 1, delay=delay)


@transaction.atomic
def _end(run: SyncRun, seq: int, *, status=SyncRun.Status.FAILED, error="", requests=0) -> Next:
    if not _claim(run, seq):
        return DONE
    SyncRun.objects.filter(id=run.id).update(requests=F("requests") + requests, error=error[:500])
    _finish(run, status=status, now=timezone.now())
    return DONE


def _finish(run: SyncRun, *, status, now) -> None:
    SyncRun.objects.filter(id=run.id).update(status=status, finished_at=now, waiting_until=None)
    connection = run.connection
    if connection.schedule_minutes and not connection.paused:
        Connection.objects.filter(id=connection.id).update(
            next_run_at=now + timedelta(minutes=connection.schedule_minutes)
        )
