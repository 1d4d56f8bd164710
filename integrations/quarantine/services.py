"""Writes of the quarantine: setting an event aside, replaying events.

An event lands here only from integrations.processing, after it failed alone with a data
error; replaying returns it to the inbox, so it is processed again by the same steps (and
set aside again, with the new error, if it still fails). No other app writes here.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction

from cdp_site.dataerrors import describe

from ..services import trigger_processing
from .selectors import quarantined

logger = logging.getLogger(__name__)

# The payload is copied in SQL from the stored event: no Python decoding of a payload
# that may be the very thing that failed.
SET_ASIDE_SQL = """
INSERT INTO integrations_quarantinedevent
    (event_id, received_at, source_id, step, error, payload, quarantined_at)
SELECT %(event_id)s, %(received_at)s, %(source_id)s, %(step)s, %(error)s,
       (SELECT e.payload FROM integrations_event e
        WHERE e.id = %(event_id)s AND e.received_at = %(received_at)s), now()
ON CONFLICT (event_id) DO UPDATE SET
    step = EXCLUDED.step, error = EXCLUDED.error, quarantined_at = EXCLUDED.quarantined_at
"""
REPLAY_SQL = """
WITH taken AS (
    DELETE FROM integrations_quarantinedevent WHERE id = ANY(%s)
    RETURNING event_id, received_at, source_id
)
INSERT INTO integrations_eventinbox (event_id, received_at, source_id)
SELECT event_id, received_at, source_id FROM taken
"""


def set_aside(
    *, event_id: int, received_at: datetime, source_id: int, step: str, error: Exception
) -> None:
    """Records the event as quarantined; runs inside the processing transaction, which
    has already removed it from the inbox."""
    text = describe(error)
    logger.warning("event %s set aside at %s: %s", event_id, step, text)
    params = {
        "event_id": event_id,
        "received_at": received_at,
        "source_id": source_id,
        "step": step[:200],
        "error": text,
    }
    with connection.cursor() as cursor:
        cursor.execute(SET_ASIDE_SQL, params)


@transaction.atomic
def replay(*, ids: list[int] | None = None, source_id: int | None = None) -> int:
    """Puts quarantined events back in the inbox (these ids, or all of a source, or all);
    processing is queued after the commit. Returns how many."""
    chosen = quarantined(source_id=source_id)
    if ids is not None:
        chosen = chosen.filter(id__in=ids)
    # Locked and listed first: two admins pressing "replay all" move each event once.
    picked = list(chosen.select_for_update(skip_locked=True).values_list("id", flat=True))
    if not picked:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(REPLAY_SQL, [picked])
        moved = cursor.rowcount
    transaction.on_commit(trigger_processing)
    logger.info("replayed %s quarantined events", moved)
    return moved
