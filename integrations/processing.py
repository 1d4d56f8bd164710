"""Processing stored events in batches from the inbox, exactly once.

A batch is claimed with DELETE ... FOR UPDATE SKIP LOCKED ... RETURNING and every step
runs in that same transaction: if the worker dies, the DELETE rolls back with the steps'
writes and the rows are claimed again; if it commits, they are gone with their effects.
Steps are functions ``step(batch)`` listed in settings.COLLECT_PROCESSING_STEPS.

One bad event must not stop processing for everyone. The steps run inside a savepoint;
when they fail with a data error (cdp_site.dataerrors: a cast that fails, a value out of
range, a Python error on a strange shape), the savepoint rolls back and the batch is cut
in halves, each tried again, until the bad event fails alone: only then is it set aside
in the quarantine, with the step that failed and the error, and its neighbours are
processed. A savepoint per event would cost about as much as processing the event;
halving costs one savepoint per batch on clean data and about log2(batch) extra tries
per bad event. Failures of the system (a lost connection, a serialization failure, a
deadlock, a time limit) are raised: the whole batch rolls back into the inbox and the
task retries.
"""

import functools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils.module_loading import import_string

from cdp_site.dataerrors import is_data_error
from cdp_site.pgarrays import adapt  # lists as one array literal each: see there

from . import conf
from .quarantine import services as quarantine

# The rows are picked once, in a materialised CTE: as ``WHERE id IN (SELECT ... LIMIT n)``
# the planner may rescan the subquery (a nested loop), and with SKIP LOCKED each rescan
# picks other rows, so a batch could exceed its limit (seen in CI: 25 claimed of 10).
CLAIM_SQL = """
WITH picked AS MATERIALIZED (
    SELECT id FROM integrations_eventinbox ORDER BY id FOR UPDATE SKIP LOCKED LIMIT %s
)
DELETE FROM integrations_eventinbox i USING picked WHERE i.id = picked.id
RETURNING i.event_id, i.received_at, i.source_id
"""

EVENTS_SQL = """
SELECT e.id, e.source_id, e.type, e.event, e.user_id, e.anonymous_id, e.message_id,
       e."timestamp", e.received_at, e.payload
FROM integrations_event e
JOIN unnest(%s::bigint[], %s::timestamptz[]) AS k(id, received_at)
  ON e.id = k.id AND e.received_at = k.received_at
ORDER BY e.id
"""

UPSERT_STATS_SQL = """
INSERT INTO integrations_sourceminutestats (source_id, minute, count)
SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[])
ON CONFLICT (source_id, minute)
DO UPDATE SET count = integrations_sourceminutestats.count + EXCLUDED.count
"""


@dataclass(frozen=True)
class ClaimedEvent:
    event_id: int
    received_at: datetime
    source_id: int


@dataclass
class Batch:
    claimed: list[ClaimedEvent]
    _events: list[dict] | None = field(default=None, repr=False)
    step: str = ""  # the step running, or the one that failed

    def events(self) -> list[dict]:
        """Full event rows of the batch, loaded once, for steps that need the payload."""
        if self._events is None:
            with connection.cursor() as cursor:
                cursor.execute(
                    EVENTS_SQL,
                    adapt(
                        [[c.event_id for c in self.claimed], [c.received_at for c in self.claimed]]
                    ),
                )
                columns = [col.name for col in cursor.description]
                self._events = [dict(zip(columns, row, strict=True)) for row in cursor]
            for event in self._events:
                # Django's connection loads jsonb as text (its JSONField decodes it itself).
                if isinstance(event["payload"], str):
                    event["payload"] = json.loads(event["payload"])
        return self._events

    def halves(self) -> tuple["Batch", "Batch"]:
        # Each half reloads its rows: a failed try may have left its dicts half-changed.
        middle = len(self.claimed) // 2
        return Batch(self.claimed[:middle]), Batch(self.claimed[middle:])


def count_events_per_minute(batch: Batch) -> None:
    delay = conf.processing_delay()
    if delay:
        time.sleep(delay)  # the worker-kill test needs a batch that lasts
    counts = Counter(
        (c.source_id, c.received_at.replace(second=0, microsecond=0)) for c in batch.claimed
    )
    # Sorted so that two workers upserting the same minutes lock them in the same order.
    keys = sorted(counts)
    with connection.cursor() as cursor:
        cursor.execute(
            UPSERT_STATS_SQL,
            adapt([[k[0] for k in keys], [k[1] for k in keys], [counts[k] for k in keys]]),
        )


@functools.cache
def _steps(paths: tuple[str, ...]):
    return [import_string(path) for path in paths]


def steps():
    paths = tuple(conf.get("COLLECT_PROCESSING_STEPS"))
    return list(zip(paths, _steps(paths), strict=True))


def run_steps(batch: Batch) -> None:
    for path, step in steps():
        batch.step = path
        step(batch)


def run_isolating_bad_events(batch: Batch) -> int:
    """Runs the steps on the batch; sets aside each event that fails alone with a data
    error and processes the rest. Returns how many were set aside."""
    try:
        with transaction.atomic():  # a savepoint inside the claim's transaction
            run_steps(batch)
        return 0
    except Exception as exc:
        if not is_data_error(exc):
            raise
        if len(batch.claimed) == 1:
            claimed = batch.claimed[0]
            quarantine.set_aside(
                event_id=claimed.event_id,
                received_at=claimed.received_at,
                source_id=claimed.source_id,
                step=batch.step,
                error=exc,
            )
            return 1
    return sum(run_isolating_bad_events(half) for half in batch.halves())


@transaction.atomic
def process_inbox_batch(*, limit: int | None = None) -> int:
    """Claims up to ``limit`` inbox rows, runs every step on them; returns how many."""
    limit = limit or conf.get("COLLECT_PROCESS_BATCH_SIZE")
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [limit])
        claimed = [ClaimedEvent(*row) for row in cursor.fetchall()]
    if not claimed:
        return 0
    claimed.sort(key=lambda c: c.event_id)
    run_isolating_bad_events(Batch(claimed))
    return len(claimed)
