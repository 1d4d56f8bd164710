"""Writes of pull connectors: connections, their test, and starting and stopping runs.

Others may use: ``create_connection``, ``update_connection``, ``set_secrets``,
``test_connection``, ``start_run``, ``cancel_run``, ``set_paused``, ``start_due_runs``,
``resume_stalled_runs``, ``rotate_encryption``, ``register_source_setup``,
``delete_connection``. A connection is a source of its own (server-trusted, with its party
and priority), created here with it; deleting the connection archives that source.
Runs are queued by task name (tasks import us).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.db import connection as db
from django.db.models import Q
from django.utils import timezone

from cdp_site import audit, crypto
from cdp_site.celery import task_named
from integrations.models import Source
from integrations.services import archive_source, create_source
from integrations.webhooks.mapping import RuleError, parse_path, parse_rules

from .base import MESSAGE_KINDS, STREAM_OVERRIDES, ConnectorError, Kind
from .credentials import set_secrets
from .models import Connection, StreamState, SyncRun
from .registry import kind_of
from .sync import reader_for

SLICE_TASK = "integrations.connectors.tasks.run_sync_slice"
MIN_SCHEDULE_MINUTES = 5
# How long a deletion waits for a slice that is storing a page (it holds its run's row).
DELETE_LOCK_TIMEOUT_MS = 10_000


class ConnectionInvalid(Exception):
    """Field → message for input that cannot make a connection."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class RunRefused(Exception):
    """A run that cannot start now; the message says why, ``code`` names it for the API."""

    code = "run_refused"


class RunActive(RunRefused):
    code = "run_active"

    def __init__(self, run: SyncRun):
        super().__init__(f"Run {run.id} is still going; cancel it or wait for it to end.")
        self.run = run


class SourceOff(RunRefused):
    code = "source_off"

    def __init__(self, source):
        state = "archived" if source.archived else "disabled"
        super().__init__(f"The connection's source is {state}: enable it to run the sync.")


class ConnectionBusy(RunRefused):
    code = "run_storing"

    def __init__(self):
        super().__init__(
            "The connection's run is storing a page right now and did not finish within "
            f"{DELETE_LOCK_TIMEOUT_MS / 1000:g} s; try again in a moment."
        )


# Hook: what the apps above set up for a new connection's source, registered at start-up
# (profiles/apps.py: what its userId is, when the kind names it in ``extra["user_id_kind"]``,
# e.g. a CRM's contact id). Called as ``setup(source=, kind=)`` in the creating transaction.
_SOURCE_SETUPS: list[Callable] = []


def register_source_setup(setup: Callable) -> None:
    if setup not in _SOURCE_SETUPS:
        _SOURCE_SETUPS.append(setup)


def default_streams(kind: Kind) -> dict:
    return {s.name: {"enabled": True, "rules": parse_rules(s.rules)} for s in kind.streams}


def _checked_streams(kind: Kind, streams: dict | None, errors: dict) -> dict:
    """{name: {"enabled": bool, "rules": text or list}} → stored form, errors by field."""
    if streams is None:
        return default_streams(kind)
    names = {s.name for s in kind.streams}
    checked = {}
    for name, spec in streams.items():
        if name not in names:
            errors[f"streams.{name}"] = f"{kind.label} has no stream {name!r}."
            continue
        rules = spec.get("rules")
        if isinstance(rules, str):
            try:
                rules = parse_rules(rules)
            except RuleError as exc:
                errors[f"streams.{name}.rules"] = str(exc)
                continue
        if rules is None:
            rules = parse_rules(kind.stream(name).rules)
        checked[name] = {"enabled": bool(spec.get("enabled", True)), "rules": rules}
        checked[name].update(_checked_overrides(name, spec, errors))
    return checked


def _checked_overrides(name: str, spec: dict, errors: dict) -> dict:
    overrides = {k: str(spec[k]).strip() for k in STREAM_OVERRIDES if spec.get(k)}
    for key in ("primary_key", "updated_at"):
        if key in overrides:
            try:
                parse_path(overrides[key])
            except RuleError as exc:
                errors[f"streams.{name}.{key}"] = str(exc)
    if overrides.get("message_kind", "identify") not in MESSAGE_KINDS:
        errors[f"streams.{name}.message_kind"] = f"One of {', '.join(MESSAGE_KINDS)}."
    return overrides


def _checked_settings(kind: Kind, config: dict, errors: dict) -> dict:
    known = {f.name: f for f in kind.config}
    for name in config:
        if name not in known:
            errors[f"config.{name}"] = "Not a setting of this connector."
    for field in kind.config:
        if field.required and config.get(field.name) in (None, ""):
            errors[f"config.{field.name}"] = "Required."
    checked = {k: v for k, v in config.items() if k in known}
    if kind.validate and not errors:
        errors.update({f"config.{k}": v for k, v in kind.validate(checked).items()})
    return checked


def _check_schedule(minutes: int, errors: dict) -> None:
    if minutes and minutes < MIN_SCHEDULE_MINUTES:
        errors["schedule_minutes"] = (
            f"Every {MIN_SCHEDULE_MINUTES} minutes at most often (0: only when asked)."
        )


@transaction.atomic
def create_connection(
    *,
    name: str,
    kind: str,
    base_url: str = "",
    config: dict | None = None,
    secrets: dict | None = None,
    streams: dict | None = None,
    schedule_minutes: int = 60,
    party: str = Source.Party.FIRST,
    priority: int = 100,
    trigger_window: timedelta = timedelta(0),
    request_budget: int = 0,
    now: datetime | None = None,
) -> Connection:
    """A new connection with its own source. Records changed before now − trigger_window
    are history: they never start journeys or event-triggered campaigns."""
    errors: dict[str, str] = {}
    try:
        spec = kind_of(kind)
    except ConnectorError as exc:
        raise ConnectionInvalid({"kind": exc.message}) from None
    config = _checked_settings(spec, config or {}, errors)
    stored_streams = _checked_streams(spec, streams, errors)
    _check_schedule(schedule_minutes, errors)
    missing = [f.name for f in spec.secrets if f.required and not (secrets or {}).get(f.name)]
    for name in missing:
        errors[f"secrets.{name}"] = "Required."
    if errors:
        raise ConnectionInvalid(errors)
    now = now or timezone.now()
    source = create_source(name=name, kind=spec.source_kind, party=party, priority=priority)
    for setup in _SOURCE_SETUPS:
        setup(source=source, kind=spec)
    connection = Connection.objects.create(
        source=source,
        kind=kind,
        base_url=base_url or spec.default_base_url,
        config=config,
        streams=stored_streams,
        schedule_minutes=schedule_minutes,
        trigger_after=now - trigger_window,
        request_budget=request_budget,
        next_run_at=now if schedule_minutes else None,
    )
    set_secrets(connection=connection, secrets=secrets or {})
    audit.record(action="connection.create", target=connection, details={"kind": kind})
    return connection


@transaction.atomic
def update_connection(*, connection: Connection, **changes) -> Connection:
    """Changes any of base_url, config, streams, schedule_minutes, request_budget."""
    spec = kind_of(connection.kind)
    errors: dict[str, str] = {}
    if "config" in changes:
        changes["config"] = _checked_settings(spec, changes["config"], errors)
    if "streams" in changes:
        changes["streams"] = _checked_streams(spec, changes["streams"], errors)
    if "schedule_minutes" in changes:
        _check_schedule(changes["schedule_minutes"], errors)
    if errors:
        raise ConnectionInvalid(errors)
    if _moves_secrets(spec, connection, changes):
        # Credentials are not carried to another host: the admin enters them again.
        connection.secrets_encrypted = ""
    for name, value in changes.items():
        setattr(connection, name, value)
    if "schedule_minutes" in changes:
        minutes = changes["schedule_minutes"]
        connection.next_run_at = timezone.now() + timedelta(minutes=minutes) if minutes else None
    connection.save()
    # The changed settings by name: values may name hosts and tables, secrets never come here.
    audit.record(
        action="connection.update", target=connection, details={"changed": sorted(changes)}
    )
    return connection


def _moves_secrets(kind: Kind, connection: Connection, changes: dict) -> bool:
    if "base_url" in changes and changes["base_url"] != connection.base_url:
        return True
    config = changes.get("config", connection.config)
    return any(config.get(name) != connection.config.get(name) for name in kind.secrets_bound_to)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    code: str = ""


def test_connection(*, connection: Connection) -> CheckResult:
    """The kind's check against the live service; a message an admin can act on (the
    kind's own on success, when it returns one: "3 files match in /drop")."""
    kind = kind_of(connection.kind)
    reader = reader_for(connection)  # its base URL may come from the credentials
    try:
        said = kind.check(reader)
    except ConnectorError as exc:
        return CheckResult(ok=False, message=exc.message, code=exc.code)
    return CheckResult(ok=True, message=said or f"Connected to {reader.base_url}.")


def start_run(
    *, connection: Connection, trigger: str = SyncRun.Trigger.MANUAL, user=None
) -> SyncRun:
    """Queues a run over the enabled streams; RunActive when one is still going, SourceOff
    when the source is disabled or archived (its data would be refused). A full re-sync
    forgets the cursors first, so every record is read again (and stored once)."""
    if not connection.source.enabled or connection.source.archived:
        raise SourceOff(connection.source)
    streams = [s for s in connection.enabled_streams() if _known(connection, s)]
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                connection=connection,
                trigger=trigger,
                streams=streams,
                created_by=user,
                started_at=timezone.now(),
            )
            if trigger == SyncRun.Trigger.FULL:
                StreamState.objects.filter(connection=connection).update(cursor=None)
            transaction.on_commit(lambda: queue_slice(run_id=run.id, seq=0))
    except IntegrityError:
        raise RunActive(
            SyncRun.objects.get(connection=connection, status__in=SyncRun.ACTIVE)
        ) from None
    return run


def _known(connection: Connection, stream: str) -> bool:
    try:
        kind_of(connection.kind).stream(stream)
    except (KeyError, ConnectorError):
        return False
    return True


def queue_slice(*, run_id: int, seq: int, delay: float = 0.0) -> None:
    task_named(SLICE_TASK).apply_async(args=(run_id, seq), countdown=delay or None)


def cancel_run(*, run: SyncRun) -> SyncRun:
    """Asks the run to stop at its next slice (a slice in flight still stores its page)."""
    SyncRun.objects.filter(id=run.id, status__in=SyncRun.ACTIVE).update(cancel_requested=True)
    run.refresh_from_db()
    if run.waiting_until:  # a run waiting out a rate limit stops now, not after the wait
        queue_slice(run_id=run.id, seq=run.slice_seq)
    return run


@transaction.atomic
def set_paused(*, connection: Connection, paused: bool) -> Connection:
    connection.paused = paused
    if not paused and connection.schedule_minutes:
        connection.next_run_at = timezone.now()
    connection.save(update_fields=["paused", "next_run_at", "updated_at"])
    return connection


def start_due_runs(*, now: datetime | None = None) -> int:
    """Starts a scheduled run of every connection whose time has come (beat, every minute).
    A connection whose run is still going is put back by its schedule."""
    now = now or timezone.now()
    started = 0
    due = Connection.objects.filter(paused=False, next_run_at__lte=now, source__enabled=True)
    for connection in due.order_by("next_run_at")[:200]:
        Connection.objects.filter(id=connection.id).update(
            next_run_at=now + timedelta(minutes=connection.schedule_minutes or 60)
        )
        try:
            start_run(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
            started += 1
        except RunActive:
            continue
    return started


STALLED_AFTER = timedelta(minutes=10)


def resume_stalled_runs(*, now: datetime | None = None) -> int:
    """Queues again the slice of every active run that has not moved for STALLED_AFTER
    (its task was lost with a broker or a worker); a slice delivered twice is harmless."""
    now = now or timezone.now()
    stalled = (
        SyncRun.objects.filter(status__in=SyncRun.ACTIVE)
        .filter(
            Q(last_slice_at__lt=now - STALLED_AFTER)
            | Q(last_slice_at__isnull=True, created_at__lt=now - STALLED_AFTER)
        )
        .filter(Q(waiting_until__isnull=True) | Q(waiting_until__lt=now - STALLED_AFTER))
    )
    count = 0
    for run_id, seq in stalled.values_list("id", "slice_seq")[:200]:
        queue_slice(run_id=run_id, seq=seq)
        count += 1
    return count


def rotate_encryption() -> int:
    """Re-encrypts every connection's secrets with the first key (rotate_encryption_key)."""
    count = 0
    for connection in Connection.objects.exclude(secrets_encrypted="").select_for_update():
        connection.secrets_encrypted = crypto.rotate(connection.secrets_encrypted)
        connection.save(update_fields=["secrets_encrypted"])
        count += 1
    return count


def delete_connection(*, connection: Connection, by) -> None:
    """Deletes the connection with its credentials, stream states, runs and dropped-file
    records, cancelling its active run; its source is archived, not deleted: the events
    and profiles the connection brought are the customers' data and stay. ``by``: the
    user who asked (the audit trail's actor).

    A slice storing a page holds its run's row until it commits: the deletion waits for
    it (up to DELETE_LOCK_TIMEOUT_MS, then ConnectionBusy), so that page is stored whole
    and no slice stores one after (it finds its run gone: a stale slice). The run is
    locked before the connection, in the order a slice takes them."""
    try:
        with transaction.atomic():
            with _lock_timeout(DELETE_LOCK_TIMEOUT_MS):
                active = list(
                    SyncRun.objects.select_for_update()
                    .filter(connection_id=connection.pk, status__in=SyncRun.ACTIVE)
                    .values_list("id", flat=True)
                )
                locked = (
                    Connection.objects.select_for_update(of=("self",))
                    .select_related("source")
                    .filter(pk=connection.pk)
                    .order_by()
                    .first()
                )
            if locked is None:
                return  # deleted meanwhile: nothing left to do
            source = locked.source
            _, deleted = locked.delete()
            archive_source(source=source)
            audit.record(
                action="connection.delete",
                actor=by,
                target_type="integrations.connection",
                target_id=connection.pk,
                details={
                    "kind": locked.kind,
                    "source": source.pk,  # archived, with the data the connection brought
                    "cancelled_run": active[0] if active else None,
                    "deleted": {label.lower(): n for label, n in sorted(deleted.items()) if n},
                },
            )
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise ConnectionBusy() from None
        raise


@contextmanager
def _lock_timeout(milliseconds: int):
    """Locks taken inside wait at most ``milliseconds`` (then OperationalError, and the
    transaction is rolled back); the transaction's own setting is back after, as a
    request or a test may go on in it."""
    with db.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{milliseconds}ms"])
    yield
    with db.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
