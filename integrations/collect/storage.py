"""Writing accepted messages: dedupe, events and inbox in one statement per batch.

Dedupe keys of client sources expire (integrations_recentmessageid, partitioned by week:
a message is new unless this week's or last week's partition holds its id); those of
server sources, file imports and webhooks never do (integrations_eventmessageid).
"""

from datetime import datetime

import psycopg
from django.db import connection

from ..partitions import week_of
from .messages import Row

# The "fresh" step of the statements below, per kind of dedupe: the ids not seen before.
FRESH = {
    False: """
    INSERT INTO integrations_eventmessageid (source_id, message_id)
    SELECT %(source_id)s, message_id FROM {ids}
    ON CONFLICT DO NOTHING
    RETURNING message_id""",
    True: """
    INSERT INTO integrations_recentmessageid (source_id, message_id, week)
    SELECT %(source_id)s, i.message_id, %(week)s FROM {ids} i
    WHERE NOT EXISTS (
        SELECT 1 FROM integrations_recentmessageid r
        WHERE r.source_id = %(source_id)s AND r.message_id = i.message_id
          AND r.week = %(week)s - 1)
    ON CONFLICT DO NOTHING
    RETURNING message_id""",
}

# One round trip: the dedupe table says which messageIds are new (ON CONFLICT DO NOTHING
# ... RETURNING), only those become events, and each new event gets an inbox row.
# Arrays travel in binary (%(name)b): in text format psycopg would escape every quote of
# every payload.
INSERT_SQL = """
WITH input AS (
    SELECT * FROM unnest(
        %(message_id)b::text[], %(type)b::text[], %(event)b::text[], %(user_id)b::text[],
        %(anonymous_id)b::text[], %(timestamp)b::timestamptz[],
        %(original_timestamp)b::timestamptz[], %(sent_at)b::timestamptz[], %(payload)b::text[]
    ) AS t(message_id, type, event, user_id, anonymous_id, ts, original_ts, sent_at, payload)
), fresh AS ({fresh}
), stored AS (
    INSERT INTO integrations_event (
        source_id, type, event, user_id, anonymous_id, message_id,
        "timestamp", original_timestamp, sent_at, received_at, payload
    )
    SELECT %(source_id)s, i.type, i.event, i.user_id, i.anonymous_id, i.message_id,
           i.ts, i.original_ts, i.sent_at, %(received_at)s, i.payload::jsonb
    FROM input i JOIN fresh f USING (message_id)
    RETURNING id, received_at
)
INSERT INTO integrations_eventinbox (event_id, received_at, source_id)
SELECT id, received_at, %(source_id)s FROM stored
"""

# The same statement for one message (the single-event endpoints, most requests): plain
# parameters instead of nine one-element arrays, which cost more to build and unnest.
INSERT_ONE_SQL = """
WITH one AS (SELECT %(message_id)s::text AS message_id), fresh AS ({fresh}
), stored AS (
    INSERT INTO integrations_event (
        source_id, type, event, user_id, anonymous_id, message_id,
        "timestamp", original_timestamp, sent_at, received_at, payload
    )
    SELECT %(source_id)s, %(type)s::text, %(event)s::text, %(user_id)s::text,
           %(anonymous_id)s::text, f.message_id, %(timestamp)s::timestamptz,
           %(original_timestamp)s::timestamptz, %(sent_at)s::timestamptz, %(received_at)s,
           %(payload)s::jsonb
    FROM fresh f
    RETURNING id, received_at
)
INSERT INTO integrations_eventinbox (event_id, received_at, source_id)
SELECT id, received_at, %(source_id)s FROM stored
"""


def _unique(rows: list[Row]) -> list[Row]:
    seen: set[str] = set()
    unique = []
    for row in rows:
        if row.message_id not in seen:
            seen.add(row.message_id)
            unique.append(row)
    return unique


STATEMENTS = {
    (expiring, one): (INSERT_ONE_SQL if one else INSERT_SQL).replace(
        "{fresh}", FRESH[expiring].replace("{ids}", "one" if one else "input")
    )
    for expiring in (False, True)
    for one in (False, True)
}


def insert_rows(
    *, source_id: int, rows: list[Row], received_at: datetime, expiring: bool = False
) -> int:
    """Stores the rows not seen before for this source; returns how many were new.
    ``expiring``: the source's dedupe keys are kept for a window, not forever (client
    sources).

    One statement: inside the caller's transaction it joins it; outside one it commits
    by itself before returning (the API answers only after that).
    """
    rows = _unique(rows)
    if not rows:
        return 0
    week = week_of(received_at)
    if len(rows) == 1:
        row = rows[0]
        return _execute(
            STATEMENTS[expiring, True],
            {
                "source_id": source_id,
                "week": week,
                "received_at": received_at,
                "message_id": row.message_id,
                "type": row.type,
                "event": row.event,
                "user_id": row.user_id,
                "anonymous_id": row.anonymous_id,
                "timestamp": row.timestamp,
                "original_timestamp": row.original_timestamp,
                "sent_at": row.sent_at,
                "payload": row.payload,
            },
        )
    params = {
        "source_id": source_id,
        "week": week,
        "received_at": received_at,
        "message_id": [r.message_id for r in rows],
        "type": [r.type for r in rows],
        "event": [r.event for r in rows],
        "user_id": [r.user_id for r in rows],
        "anonymous_id": [r.anonymous_id for r in rows],
        "timestamp": [r.timestamp for r in rows],
        "original_timestamp": [r.original_timestamp for r in rows],
        "sent_at": [r.sent_at for r in rows],
        "payload": [r.payload for r in rows],
    }
    return _execute(STATEMENTS[expiring, False], params)


def _execute(sql: str, params: dict) -> int:
    connection.ensure_connection()
    raw = connection.connection
    # A server-side-binding cursor on Django's own connection (same transaction): arrays go
    # as parameters instead of being spelled out as SQL literals by Django's client cursor.
    with psycopg.Cursor(raw) as cursor:
        # Prepared (Django leaves psycopg's automatic preparing off): PostgreSQL parses
        # and plans these four-table statements once per connection, not per request.
        if raw.autocommit:
            # Outside a transaction (most /v1 requests) the statement commits by itself:
            # there is no BEGIN to save, and pipeline mode would only cost CPU.
            cursor.execute(sql, params, prepare=True)
        else:
            # Pipeline mode sends the transaction's BEGIN together with the statement: one
            # round trip to PostgreSQL instead of two.
            with raw.pipeline():
                cursor.execute(sql, params, prepare=True)
        return cursor.rowcount
