"""The sender: each active sync's pending people, a batch at a time (at most the
platform's limit, 10,000), planned (plan.py), sent (removes, then adds), and recorded.

A batch runs in one transaction holding its sync's row (FOR UPDATE SKIP LOCKED: one
worker per sync; another finds it busy and moves on). A platform error stops the sync's
run without writing any member row, so the batch is sent again later; adds and removes
are idempotent on the platforms. What each error does (integrations' AudienceError):
credentials refused pause the sync, an audience gone marks it broken, a rate limit waits
for Retry-After, a server error backs off (5 s, 10 s, 20 s … 5 min); a refused batch, or
members the platform rejected, are set aside as failed and the rest proceed.

``run_due(now=...)`` is what the beat task calls: reads the change records, then runs
every sync with work, one failing sync never stopping the others.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cdp_site import audit
from cdp_site.pgarrays import adapt
from integrations.destinations import audience_platforms, audiences
from integrations.destinations.audiences import AudienceError
from integrations.destinations.models import Destination
from segments.models import Membership

from . import changes
from .models import AudienceMember, AudiencePending, AudienceSync
from .plan import Plan, plan

logger = logging.getLogger(__name__)
BACKOFF_CAP = 300
RUN_SECONDS = 20.0  # a beat run gives each sync at most this long; the rest waits a tick


def backoff(attempts: int) -> int:
    """Seconds before trying again after ``attempts`` server errors: 5, 10, 20 … 300."""
    return min(5 * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


@dataclass
class Sent:
    added: list = field(default_factory=list)  # (profile, hashes)
    rejected: list = field(default_factory=list)  # (profile, hashes, reason)
    removed: list = field(default_factory=list)  # profiles
    kept: list = field(default_factory=list)  # (profile, reason): a remove refused
    unidentified: int = 0  # invalid entries the platform counted but did not name
    request_id: str = ""
    error: str = ""
    session: dict | None = None  # the part of a full upload's session this batch sent


def run_due(*, now: datetime | None = None, seconds: float = RUN_SECONDS) -> dict:
    changes.read_all()
    done = {}
    due = (
        AudienceSync.objects.filter(status=AudienceSync.Status.ACTIVE)
        .filter(Q(pending__isnull=False) | Q(full_after__isnull=False) | ~Q(pending_request_id=""))
        .values_list("id", flat=True)
        .distinct()
    )
    for sync_id in list(due):
        try:
            done[sync_id] = run_sync(sync_id=sync_id, now=now, seconds=seconds)
        except Exception as exc:  # noqa: BLE001 (one sync's fault never stops the others)
            logger.exception("audience sync %s failed", sync_id)
            _record_crash(sync_id, exc, now or timezone.now())
    return done


def run_sync(*, sync_id: int, now: datetime | None = None, seconds: float | None = None) -> int:
    """Batches until nothing is pending, the sync stops, or ``seconds`` ran out; returns
    the batches sent."""
    started = time.monotonic()
    _check_request(sync_id, now or timezone.now())
    batches = 0
    while True:
        outcome = run_batch(sync_id=sync_id, now=now or timezone.now())
        batches += outcome != "idle"
        if outcome != "more" or (seconds is not None and time.monotonic() - started > seconds):
            return batches


@dataclass
class Work:
    """One batch's people: a full upload's next part, or pending rows."""

    ids: list[int]
    full: bool = False
    more: bool = False  # more of the same kind waits after this batch
    pending: list = field(default_factory=list)  # (row id, marked_at) to delete after


@transaction.atomic
def run_batch(*, sync_id: int, now: datetime) -> str:
    """One batch: "more" (more waits), "idle" (nothing left), "stopped"."""
    sync = (
        AudienceSync.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("destination")
        .filter(pk=sync_id)
        .first()
    )
    if sync is None or sync.status != AudienceSync.Status.ACTIVE:
        return "stopped"
    if sync.next_attempt_at and sync.next_attempt_at > now:
        return "stopped"
    size = audience_platforms.batch_limit(sync.destination)
    work = _full_work(sync, size) if sync.full_after is not None else _pending_work(sync, size)
    if not work.ids:
        return "more" if work.more else "idle"
    batch = plan(sync, work.ids, full=work.full)
    try:
        sent = _send(sync, batch, last=not work.more)
    except AudienceError as exc:
        _stop(sync, exc, now)
        return "stopped"
    if work.full:
        sync.full_after = work.ids[-1] if work.more else None
        if not work.more:
            sync.session = {}  # the full upload's last part (flagged as such to Meta)
    _record(sync, batch, sent, now)
    _unmark(work.pending)
    return "more" if work.more or len(work.pending) == size else "idle"


EVERYONE_AFTER = """
SELECT profile_id FROM (
    SELECT profile_id FROM {membership} WHERE segment_id = %(segment)s AND profile_id > %(after)s
    UNION
    SELECT profile_id FROM {member} WHERE sync_id = %(sync)s AND profile_id > %(after)s
) AS everyone ORDER BY profile_id LIMIT %(limit)s
"""  # noqa: S608 (the models' own table names; the values are parameters)


def _full_work(sync: AudienceSync, size: int) -> Work:
    """The full upload's next part: the segment's members and the audience's people
    after ``full_after``, in profile id order. An empty part ends the full upload."""
    sql = EVERYONE_AFTER.format(
        membership=Membership._meta.db_table, member=AudienceMember._meta.db_table
    )
    params = {"segment": sync.segment_id, "sync": sync.pk, "after": sync.full_after}
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "limit": size + 1})
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        sync.full_after, sync.session = None, {}
        sync.save(update_fields=["full_after", "session"])
        return Work(ids=[], more=True)  # the pending rows' turn
    return Work(ids=ids[:size], full=True, more=len(ids) > size)


def _pending_work(sync: AudienceSync, size: int) -> Work:
    rows = list(
        AudiencePending.objects.filter(sync=sync)
        .order_by("id")
        .values_list("id", "profile_id", "marked_at")[:size]
    )
    return Work(ids=[p for _, p, _ in rows], pending=[(i, at) for i, _, at in rows])


UNMARK = """
DELETE FROM {table} p USING unnest(%s::bigint[], %s::timestamptz[]) AS b(id, at)
WHERE p.id = b.id AND p.marked_at = b.at
"""  # noqa: S608 (the model's own table name; the values are parameters)


def _unmark(pending) -> None:
    """Deletes the batch's pending rows, except those marked again since they were read."""
    if not pending:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            UNMARK.format(table=AudiencePending._meta.db_table),
            adapt([[i for i, _ in pending], [at for _, at in pending]]),
        )


# --- sending --------------------------------------------------------------------------


def _send(sync: AudienceSync, batch: Plan, *, last: bool) -> Sent:
    sent = Sent()
    if batch.removes:
        _push(sync, audiences.REMOVE, batch.removes, sent, None)
    if batch.adds:
        sent.session = _session(sync, last=last) if batch.full else None
        _push(sync, audiences.ADD, batch.adds, sent, sent.session)
    return sent


def _push(sync: AudienceSync, action: str, people: list, sent: Sent, session) -> None:
    rows = [hashes for _, hashes in people]
    try:
        result = audience_platforms.push(
            sync.destination,
            audience_id=sync.audience_id,
            action=action,
            rows=rows,
            session=session,
        )
    except AudienceError as exc:
        if exc.reason != audiences.REFUSED:
            raise
        # The platform refused this batch as such: set aside, the rest proceeds.
        result = audiences.PushResult(sent=0, rejected=dict.fromkeys(range(len(rows)), exc.message))
        sent.error = exc.message
    sent.request_id = result.request_id or sent.request_id
    sent.unidentified += max(result.invalid - len(result.rejected), 0)
    for index, (pid, hashes) in enumerate(people):
        reason = result.rejected.get(index)
        if action == audiences.ADD and reason:
            sent.rejected.append((pid, hashes, reason))
        elif action == audiences.ADD:
            sent.added.append((pid, hashes))
        elif reason:
            sent.kept.append((pid, reason))
        else:
            sent.removed.append(pid)
    if result.rejected and not sent.error:
        first = next(iter(result.rejected.values()))
        sent.error = f"{len(result.rejected):,} member(s) rejected: {first}"


def _session(sync: AudienceSync, *, last: bool) -> dict | None:
    """Meta's multi-part upload: the next part of the full upload's session."""
    if sync.destination.kind != Destination.Kind.META_CUSTOM_AUDIENCE or not sync.session:
        return None
    return {
        "session_id": sync.session["session_id"],
        "batch_seq": sync.session.get("batch_seq", 0) + 1,
        "last_batch_flag": last,
        "estimated_num_total": sync.session.get("estimated_num_total", 0),
    }


# --- recording ------------------------------------------------------------------------


UPSERT = """
INSERT INTO {table} (sync_id, profile_id, email_hash, phone_hash, state, error, updated_at)
SELECT %(sync)s, u.*, %(now)s
FROM unnest(%(ids)s::bigint[], %(emails)s::text[], %(phones)s::text[], %(states)s::text[],
            %(errors)s::text[]) AS u
ON CONFLICT (sync_id, profile_id) DO UPDATE SET email_hash = EXCLUDED.email_hash,
    phone_hash = EXCLUDED.phone_hash, state = EXCLUDED.state, error = EXCLUDED.error,
    updated_at = EXCLUDED.updated_at
"""  # noqa: S608 (the model's own table name; the values are parameters)
FORGET = "DELETE FROM {table} WHERE sync_id = %s AND profile_id = ANY(%s)"  # noqa: S608


def _record(sync: AudienceSync, batch: Plan, sent: Sent, now: datetime) -> None:
    table = AudienceMember._meta.db_table
    readded = {pid for pid, _ in sent.added} | {pid for pid, _, _ in sent.rejected}
    gone = [pid for pid in sent.removed if pid not in readded] + batch.forget
    rows = [(pid, hashes, "") for pid, hashes in sent.added] + sent.rejected
    with connection.cursor() as cursor:
        if gone:
            cursor.execute(FORGET.format(table=table), adapt([sync.pk, gone]))
        if rows:
            cursor.execute(UPSERT.format(table=table), adapt(_upsert_params(sync, rows, now)))
    for pid, reason in sent.kept:
        AudienceMember.objects.filter(sync=sync, profile_id=pid).update(error=reason[:300])
    _count(sync, batch, sent, now)


def _upsert_params(sync: AudienceSync, rows: list, now: datetime) -> dict:
    failed, sent_in = AudienceMember.State.FAILED.value, AudienceMember.State.IN.value
    return {
        "sync": sync.pk,
        "ids": [pid for pid, _, _ in rows],
        "emails": [hashes[0] for _, hashes, _ in rows],
        "phones": [hashes[1] for _, hashes, _ in rows],
        "states": [failed if reason else sent_in for _, _, reason in rows],
        "errors": [(reason or "")[:300] for _, _, reason in rows],
        "now": now,
    }


def _count(sync: AudienceSync, batch: Plan, sent: Sent, now: datetime) -> None:
    sync.added_total += len(sent.added)
    sync.removed_total += len(sent.removed)
    sync.failed_total += len(sent.rejected) + len(sent.kept) + sent.unidentified
    rejected = {pid for pid, _, _ in sent.rejected}
    now_in = (batch.was_in - set(sent.removed) - rejected) | {pid for pid, _ in sent.added}
    sync.members_sent = max(sync.members_sent + len(now_in) - len(batch.was_in), 0)
    if sent.error:
        sync.last_error, sync.last_error_at = sent.error[:2000], now
    if sent.request_id:
        sync.pending_request_id = sent.request_id
    if sent.session and not sent.session["last_batch_flag"]:
        sync.session = {**sync.session, "batch_seq": sent.session["batch_seq"]}
    sync.last_run_at = sync.last_success_at = now
    sync.attempts, sync.next_attempt_at = 0, None
    sync.save()


def _stop(sync: AudienceSync, exc: AudienceError, now: datetime) -> None:
    """A platform error that stops this run: pause, mark broken, or wait."""
    sync.last_error, sync.last_error_at, sync.last_run_at = exc.message[:2000], now, now
    if exc.reason == audiences.AUTH:
        sync.status, sync.status_message = AudienceSync.Status.PAUSED, exc.message
    elif exc.reason == audiences.GONE:
        sync.status, sync.status_message = AudienceSync.Status.BROKEN, exc.message
    else:
        sync.attempts = min(sync.attempts + 1, 1000)
        wait = exc.retry_after if exc.reason == audiences.RATE else None
        delay = wait if wait is not None else backoff(sync.attempts)
        sync.next_attempt_at = now + timedelta(seconds=delay)
    sync.save()
    if sync.status != AudienceSync.Status.ACTIVE:
        audit.record(
            action=f"audience_sync.{sync.status}", target=sync, details={"reason": exc.reason}
        )


def _check_request(sync_id: int, now: datetime) -> None:
    """Google's diagnostics of the last request: its match rate and rejected records."""
    sync = AudienceSync.objects.select_related("destination").filter(pk=sync_id).first()
    if sync is None or not sync.pending_request_id:
        return
    try:
        status = audience_platforms.check_request(
            sync.destination, request_id=sync.pending_request_id
        )
    except AudienceError as exc:
        logger.info("request status of sync %s not read: %s", sync_id, exc.message)
        return
    if status is None:
        return
    changed = {"pending_request_id": ""}
    if status.match_rate:
        changed["match_rate"] = status.match_rate
    if status.failed:
        changed["failed_total"] = sync.failed_total + status.failed
        changed["last_error"] = f"Google rejected {status.failed:,} record(s) after the upload."
        changed["last_error_at"] = now
    AudienceSync.objects.filter(pk=sync_id).update(**changed)


def _record_crash(sync_id: int, exc: Exception, now: datetime) -> None:
    message = f"Internal error while syncing ({type(exc).__name__}); retried on the next run."
    AudienceSync.objects.filter(pk=sync_id).update(
        last_error=message, last_error_at=now, last_run_at=now
    )
