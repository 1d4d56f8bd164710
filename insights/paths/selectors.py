"""Paths: what people do next (or did before) a chosen event, step by step, within a
window (24 hours, say, or the same session: no pause of 30 minutes or more). The starts
are the period's most recent occurrences of the event, up to a sample size (the answer
says how many it read); each start's next events come from the (profile, timestamp)
index, a few rows each, split into sessions by window functions over those few rows."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from cdp_site.counting import time_limit
from insights.periods import Period

TIME_LIMIT_MS = 10_000
SAMPLE = 20_000  # starts read at most: the shape of the paths, not every one of them
END = "(end)"
OTHER = "(other)"

STEPS = """
WITH starts AS (
    SELECT e.event_id, e.profile_id, e."timestamp" FROM profiles_profileevent e
    JOIN profiles_profile p ON p.id = e.profile_id AND p.merged_into_id IS NULL
    WHERE e.name = %(event)s AND e."timestamp" >= %(start)s AND e."timestamp" < %(end)s
    ORDER BY e."timestamp" DESC LIMIT %(sample)s
)
SELECT s.event_id, n.type, n.name, n.path
FROM starts s LEFT JOIN LATERAL ({next_steps}) n ON true
ORDER BY s.event_id, {outer_order}
"""
# A start's next (or previous) steps: at most %(steps)s rows in the window.
NEXT_STEPS = """
    SELECT x.type, x.name, x."timestamp", x.event_id,
           coalesce(x.properties ->> 'path', x.properties ->> 'url') AS path
    FROM profiles_profileevent x
    WHERE x.profile_id = s.profile_id AND {window}
    ORDER BY {order} LIMIT %(steps)s
"""
# The same steps cut into a session: the path ends at the first pause (from the start,
# step by step) of %(gap)s seconds or more; window functions over those few rows.
SESSION_STEPS = """
    SELECT x.type, x.name, x."timestamp", x.event_id, x.path FROM (
        SELECT x.*, bool_or(x.gap >= %(gap)s) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING)
               AS ended
        FROM (
            SELECT x.*, abs(extract(epoch FROM x."timestamp" - coalesce(
                       lag(x."timestamp") OVER (ORDER BY {order}), s."timestamp"))) AS gap
            FROM ({next_steps}) x
        ) x
    ) x WHERE NOT x.ended
"""
# The two directions: constants formatted into STEPS, every value a parameter.
DIRECTIONS = {
    "next": {
        "window": 'x."timestamp" > s."timestamp" '
        'AND x."timestamp" <= s."timestamp" + %(window)s::interval',
        "order": 'x."timestamp", x.event_id',
        "outer_order": 'n."timestamp", n.event_id',
    },
    "previous": {
        "window": 'x."timestamp" < s."timestamp" '
        'AND x."timestamp" >= s."timestamp" - %(window)s::interval',
        "order": 'x."timestamp" DESC, x.event_id DESC',
        "outer_order": 'n."timestamp" DESC, n.event_id DESC',
    },
}
SESSION_GAP = timedelta(minutes=30)  # a pause this long ends a session
# Ids in a path: numbers, UUIDs, and hex of 8 or more characters with a digit in it.
ID_SEGMENT = re.compile(
    r"/(?:\d+|[0-9a-f]{8}-[0-9a-f-]{27}|(?=[0-9a-f]{8,}(?:/|$))[a-f]*\d[0-9a-f]*)(?=/|$)", re.I
)


def label(type_: str, name: str, path: str | None) -> str:
    """What a step is called: a track event by its name; a page or screen by its path (or
    name) without the query string, ids replaced by :id, so /orders/123?x=1 is /orders/:id."""
    if type_ not in ("page", "screen"):
        return name or type_
    where = (path or name or "").split("?", 1)[0].split("#", 1)[0]
    if "://" in where:  # a whole URL (properties.url): its path only
        where = "/" + where.split("://", 1)[1].partition("/")[2]
    return f"{type_} {ID_SEGMENT.sub('/:id', where) or '/'}"[:120]


@dataclass(frozen=True)
class Paths:
    as_of: object
    starts: int  # occurrences of the event read (at most SAMPLE)
    sampled: bool
    steps: list[Counter]  # per step: label -> starts whose path has it there
    links: Counter  # (step, from label, to label) -> starts; step 0 starts at the event


def paths(
    period: Period,
    *,
    event: str,
    direction: str,
    steps: int,
    hours: int,
    top: int,
    session: bool = False,
):
    """With ``session``, the steps are those of the same session (no pause of 30 minutes
    or more between one and the next, from the start on); otherwise those within
    ``hours`` of the start. Either way the read is bounded: ``steps`` rows per start, in
    a window of ``hours`` (or ``steps`` times the session gap)."""
    way = DIRECTIONS[direction]
    steps_sql = NEXT_STEPS.format(**way)  # constants only; every value a parameter
    if session:
        steps_sql = SESSION_STEPS.format(next_steps=steps_sql, **way)
    sql = STEPS.format(next_steps=steps_sql, **way)
    window = SESSION_GAP * steps if session else timedelta(hours=hours)
    params = {
        "event": event,
        "start": period.start,
        "end": period.end,
        "sample": SAMPLE,
        "steps": steps,
        "window": window,
        "gap": SESSION_GAP.total_seconds(),
    }
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    sequences: dict[int, list[str]] = {}
    for start_id, type_, name, path in found:
        sequence = sequences.setdefault(start_id, [])
        if type_ is not None:
            sequence.append(label(type_, name, path))
    return _shape(sequences, steps=steps, top=top)


def _shape(sequences: dict[int, list[str]], *, steps: int, top: int) -> Paths:
    padded = [(seq + [END] * steps)[:steps] for seq in sequences.values()]
    kept = []
    for k in range(steps):
        counts = Counter(seq[k] for seq in padded)
        kept.append({name for name, _ in counts.most_common(top)} | {END})
    named = [[s if s in kept[k] else OTHER for k, s in enumerate(seq)] for seq in padded]
    per_step = [Counter(seq[k] for seq in named) for k in range(steps)]
    links = Counter()
    for seq in named:
        for k in range(steps):
            if k and seq[k - 1] == END:
                break
            links[(k, seq[k - 1] if k else "", seq[k])] += 1
    return Paths(timezone.now(), len(sequences), len(sequences) >= SAMPLE, per_step, links)
