"""Reads of pull connectors for pages and the API: connections with where they stand, the
progress of a run, its history and records per day.

Others may use: ``connections``, ``connection_rows``, ``runs``, ``active_run``, ``live``,
``progress``, ``records_per_day``, ``records_chart``, ``config_rows``, ``secret_rows``,
``secret_status``, ``deletion_summary``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from integrations.selectors import source_event_count

from .base import ConnectorError, Kind
from .models import Connection, DroppedFile, StreamState, SyncRun
from .registry import kind_of
from .sync import secrets_of

CHART_DAYS = 14


def connections():
    return Connection.objects.select_related("source")


def runs(*, connection: Connection):
    return SyncRun.objects.filter(connection=connection).order_by("-id")


def active_run(*, connection: Connection) -> SyncRun | None:
    return runs(connection=connection).filter(status__in=SyncRun.ACTIVE).first()


def kind_or_none(key: str) -> Kind | None:
    """The kind, or None when this installation no longer offers it (a page still shows
    the connection, and says so)."""
    try:
        return kind_of(key)
    except ConnectorError:
        return None


def state_of(connection: Connection, *, active: SyncRun | None, last: SyncRun | None) -> str:
    """running, paused, disabled (its source is: no scheduled run), failed (its last run
    did) or active, in that order."""
    if active is not None:
        return "running"
    if connection.paused:
        return "paused"
    if not connection.source.enabled:
        return "disabled"
    if last is not None and last.status == SyncRun.Status.FAILED:
        return "failed"
    return "active"


@dataclass(frozen=True)
class ConnectionRow:
    connection: Connection
    kind_label: str
    state: str
    active: SyncRun | None
    last: SyncRun | None


def connection_rows() -> list[ConnectionRow]:
    """Every connection with its active and its last finished run: three queries however
    many connections there are."""
    listed = list(connections())
    ids = [c.id for c in listed]
    active = {
        r.connection_id: r
        for r in SyncRun.objects.filter(connection_id__in=ids, status__in=SyncRun.ACTIVE)
    }
    last = {
        r.connection_id: r
        for r in SyncRun.objects.filter(connection_id__in=ids)
        .exclude(status__in=SyncRun.ACTIVE)
        .order_by("connection_id", "-id")
        .distinct("connection_id")
    }
    rows = []
    for connection in listed:
        kind = kind_or_none(connection.kind)
        rows.append(
            ConnectionRow(
                connection=connection,
                kind_label=kind.label if kind else f"{connection.kind} (not installed)",
                state=state_of(
                    connection, active=active.get(connection.id), last=last.get(connection.id)
                ),
                active=active.get(connection.id),
                last=last.get(connection.id),
            )
        )
    return rows


def records_per_day(
    *, connection_ids: list[int], days: int = CHART_DAYS, today: date | None = None
) -> tuple[list[date], dict[int, list[int]]]:
    """(days, {connection id: records stored each day}) over the last ``days`` days,
    zeros included, oldest first; a run counts on the day it started."""
    today = today or timezone.localdate()
    axis = [today - timedelta(days=days - 1 - i) for i in range(days)]
    start = timezone.make_aware(datetime.combine(axis[0], datetime.min.time()))
    totals = (
        SyncRun.objects.filter(connection_id__in=connection_ids, started_at__gte=start)
        .annotate(day=TruncDate("started_at"))
        .values_list("connection_id", "day")
        .annotate(stored=Sum("stored"))
    )
    found = {(cid, day): stored for cid, day, stored in totals}
    return axis, {cid: [found.get((cid, d), 0) or 0 for d in axis] for cid in connection_ids}


def records_chart(*, names: dict[int, str], days: int = CHART_DAYS) -> dict:
    """A plotly figure (static/js/charts.js draws it): one line per connection."""
    axis, series = records_per_day(connection_ids=list(names), days=days)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": names[cid],
                "x": [d.isoformat() for d in axis],
                "y": counts,
            }
            for cid, counts in series.items()
        ],
        "layout": {
            "title": {"text": f"Records stored per day (last {days} days)"},
            "margin": {"t": 48, "r": 16, "b": 48, "l": 56},
            "yaxis": {"rangemode": "tozero"},
            "showlegend": len(series) > 1,
        },
    }


@dataclass(frozen=True)
class Progress:
    run: SyncRun
    stream: str | None
    stream_number: int
    streams: int
    elapsed: float  # seconds since the run started
    rate: float | None  # records read a second, once a page is in
    waiting: bool
    # Seconds until the current stream is read, at the run's rate so far: only while the
    # run is active and its kind said how many records remain (base.Page.remaining).
    eta: float | None = None

    @property
    def eta_text(self) -> str:
        """ "about 3 min left", or "" when unknown."""
        if self.eta is None:
            return ""
        if self.eta < 60:
            return "less than a minute left"
        minutes = round(self.eta / 60)
        if minutes < 90:
            return f"about {minutes} min left"
        return f"about {self.eta / 3600:.1f} h left"


def progress(*, run: SyncRun, now: datetime | None = None) -> Progress:
    """Where a run stands, for its live panel; the ETA is the current stream's, when its
    kind estimates what remains (most kinds read pages until the service says done)."""
    now = now or timezone.now()
    started = run.started_at or run.created_at
    end = run.finished_at or now
    elapsed = max((end - started).total_seconds(), 0.0)
    busy = ((run.last_slice_at or started) - started).total_seconds()
    rate = run.records_read / busy if run.records_read and busy > 0 else None
    known = run.active and run.remaining is not None and rate
    return Progress(
        run=run,
        stream=run.current_stream,
        stream_number=min(run.stream_index + 1, len(run.streams)),
        streams=len(run.streams),
        elapsed=elapsed,
        rate=rate,
        waiting=bool(run.waiting_until and run.waiting_until > now),
        eta=run.remaining / rate if known else None,
    )


@dataclass(frozen=True)
class Live:
    """A connection's run panel: the runs, the active one, the run whose progress shows
    (the active one, else the last: the panel stays on its outcome) and the state."""

    runs: list[SyncRun]
    active: SyncRun | None
    progress: Progress | None
    state: str


def live(*, connection: Connection, shown: int = 20) -> Live:
    # One run at a time, and the active one is the newest: the latest runs hold it.
    latest = list(runs(connection=connection)[:shown])
    active = next((r for r in latest if r.active), None)
    last = next((r for r in latest if not r.active), None)
    current = active or (latest[0] if latest else None)
    return Live(
        runs=latest,
        active=active,
        progress=progress(run=current) if current else None,
        state=state_of(connection, active=active, last=last),
    )


def config_rows(*, connection: Connection) -> list[tuple[str, object]]:
    """The connection's settings by the kind's labels, in the kind's order."""
    kind = kind_or_none(connection.kind)
    labels = {f.name: f.label for f in kind.config} if kind else {}
    order = list(labels) + [k for k in connection.config if k not in labels]
    return [(labels.get(k, k), connection.config[k]) for k in order if k in connection.config]


def secret_rows(*, connection: Connection) -> list[tuple[str, str]]:
    """Each secret's label and "set" / "not set"."""
    kind = kind_or_none(connection.kind)
    labels = {f.name: f.label for f in kind.secrets} if kind else {}
    status = secret_status(connection=connection)
    return [(labels.get(name, name), shown) for name, shown in status.items()]


def secret_status(*, connection: Connection) -> dict[str, str]:
    """Each of the kind's secrets: "set" or "not set" (never the value)."""
    kind = kind_or_none(connection.kind)
    stored = secrets_of(connection) if connection.secrets_encrypted else {}
    names = [f.name for f in kind.secrets] if kind else list(stored)
    return {name: "set" if stored.get(name) else "not set" for name in names}


@dataclass(frozen=True)
class DeletionSummary:
    """What deleting a connection removes and what stays, for its confirmation."""

    active: SyncRun | None
    runs: int
    streams: int  # stream states (cursors)
    dropped_files: int
    events: int  # stored from its source: they stay


def deletion_summary(*, connection: Connection) -> DeletionSummary:
    return DeletionSummary(
        active=active_run(connection=connection),
        runs=runs(connection=connection).count(),
        streams=StreamState.objects.filter(connection=connection).count(),
        dropped_files=DroppedFile.objects.filter(connection=connection).count(),
        events=source_event_count(source=connection.source),
    )
