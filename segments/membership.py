"""Materialised membership: a full recompute of a segment, or an evaluation of some
profiles only (real time). One statement each: the compiled query feeds the inserts
of those who entered, the deletes of those who left, and the history of both.

Each entry and exit is marked ``backfill`` when only history a connector backfilled
moved the person (campaigns start nothing on it). The real-time pass knows who that is,
from the change records it reads. A full recompute (or a segment following one) may get
to a person before the real-time pass has read their change records (a first sync's
backlog, a time-window pass): it marks the people whose unread records all are backfill."""

from __future__ import annotations

import time

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from profiles.models import ProfileChange

from . import compiler
from .models import ChangeCursor, Segment, SizeSample

# Sent after commit with ``changes``: a list of (segment_id, profile_id, "entered"|"exited").
membership_changed = Signal()

CHANGES_CURSOR = "segments"  # the real-time pass's cursor over profiles' change records
# In the history: the person is one of %(backfill)s, or every change record of theirs after
# %(unread_after)s (the real-time cursor; NULL: none are looked at) is backfilled history.
BACKFILL_OF = """(
    {t}.profile_id = ANY(%(backfill)s::bigint[])
    OR coalesce((SELECT bool_and(c.backfill) FROM profiles_profilechange c
                 WHERE c.profile_id = {t}.profile_id AND c.id > %(unread_after)s::bigint), false)
)"""

APPLY_SQL = """
WITH wanted AS ({wanted}),
entered AS (
    INSERT INTO segments_membership (segment_id, profile_id, entered_at)
    SELECT %(segment)s, w.id, %(now)s FROM wanted w
    ON CONFLICT (segment_id, profile_id) DO NOTHING
    RETURNING profile_id
),
exited AS (
    DELETE FROM segments_membership m
    WHERE m.segment_id = %(segment)s {scope}
      AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.id = m.profile_id)
    RETURNING profile_id
),
history AS (
    INSERT INTO segments_membershipchange (segment_id, profile_id, change, at, reason, backfill)
    SELECT %(segment)s, profile_id, 'entered', %(now)s, %(reason)s, {entered_backfill}
    FROM entered
    UNION ALL
    SELECT %(segment)s, profile_id, 'exited', %(now)s, %(reason)s, {exited_backfill}
    FROM exited
    RETURNING profile_id, change
)
SELECT profile_id, change FROM history
""".replace("{entered_backfill}", BACKFILL_OF.format(t="entered")).replace(
    "{exited_backfill}", BACKFILL_OF.format(t="exited")
)
# The marking parameters of a change no backfill made (an uploaded list is someone's act).
NOT_BACKFILL = {"backfill": [], "unread_after": None}
SCOPE = "AND m.profile_id = ANY(%(ids)s)"


def record_size(segment: Segment, *, now, started: float, **fields) -> int:
    """After a computation or an upload: the size sample and the segment's status (and
    any ``fields`` to set with it); returns the size."""
    size = segment.memberships.count()
    SizeSample.objects.create(segment=segment, at=now, size=size)
    Segment.objects.filter(pk=segment.pk).update(
        member_count=size,
        computed_at=now,
        computing_since=None,
        compute_error="",
        compute_ms=int((time.monotonic() - started) * 1000),
        **fields,
    )
    return size


def _named(sql: str, params) -> tuple[str, dict]:
    """The compiled query's positional placeholders as named ones, to embed it."""
    names = {}
    parts = sql.split("%s")
    out = parts[0]
    for i, part in enumerate(parts[1:]):
        names[f"q{i}"] = params[i]
        out += f"%(q{i})s" + part
    return out, names


def unread_after() -> int | None:
    """Where the real-time pass has read the profiles' change records up to; None when no
    backfilled record is left unread (the usual case: then nobody's records are probed).
    Reads the unread records only: a backlog, which the real-time pass keeps short."""
    last = ChangeCursor.objects.filter(name=CHANGES_CURSOR).values_list("last_id", flat=True)
    after = last.first() or 0
    pending = ProfileChange.objects.filter(id__gt=after, backfill=True).exists()
    return after if pending else None


def apply(
    segment: Segment, *, profile_ids: list[int] | None, reason: str, backfill=None
) -> list[tuple]:
    """Brings the members (of ``profile_ids``, or all) in line with the rule; returns the
    (profile_id, change) rows it recorded. ``backfill``: the profiles that only backfilled
    history changed (the real-time pass knows them), whose entries and exits are marked
    so; None: the profiles whose change records the real-time pass has not read yet all
    are backfilled history."""
    wanted = compiler.queryset(
        segment.rule, profile_ids=profile_ids, include_restricted=segment.include_restricted
    )
    sql, params = wanted.values("id").query.sql_with_params()
    sql, named = _named(sql, params)
    statement = APPLY_SQL.format(wanted=sql, scope=SCOPE if profile_ids is not None else "")
    named |= {
        "segment": segment.pk,
        "now": timezone.now(),
        "reason": reason[:200],
        "ids": profile_ids,
        "backfill": sorted(backfill or ()),
        "unread_after": unread_after() if backfill is None else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(statement, named)
        changes = cursor.fetchall()
    if changes:
        sent = [(segment.pk, pid, change) for pid, change in changes]
        transaction.on_commit(lambda: membership_changed.send(sender=Segment, changes=sent))
    return changes


def recompute(segment: Segment, *, reason: str = "recomputed") -> Segment:
    """Full recompute, timed; an error is stored on the segment, never swallowed silently."""
    started = time.monotonic()
    Segment.objects.filter(pk=segment.pk).update(computing_since=timezone.now())
    try:
        with transaction.atomic():
            changed = []
            if segment.kind == Segment.Kind.DYNAMIC:
                changed = apply(segment, profile_ids=None, reason=reason)
            record_size(segment, now=timezone.now(), started=started)
    except Exception as error:  # recorded for the page, then re-raised for the task's retry
        Segment.objects.filter(pk=segment.pk).update(
            computing_since=None, compute_error=f"{type(error).__name__}: {error}"[:2000]
        )
        raise
    segment.refresh_from_db()
    # Segments referring to this one follow for the people who moved.
    segment.changed_profile_ids = {pid for pid, _ in changed}
    return segment


def refresh_count(segment: Segment) -> None:
    Segment.objects.filter(pk=segment.pk).update(member_count=segment.memberships.count())
