"""The change signal: what segments and campaigns subscribe to.

Contract. Whenever processing (or a person, through a service) changes a profile, one
``ProfileChange`` row per changed profile is written in the same transaction as the
change, and after commit the ``profile_changed`` signal is sent once with all of them.

- ``profile_id``: the profile that changed (a merged-away profile reports its own id
  with ``merged_away``; its survivor reports ``merged``).
- ``kinds``: a subset of KINDS below, saying what changed.
- ``detail``: kind-specific extras, e.g. ``{"merged": [ids]}``, ``{"stage": "retention"}``,
  ``{"event_names": [...]}`` so that a subscriber re-evaluates only what depends on it.
- ``backfill``: true when every message behind the change was history a connector
  backfilled (``context.backfill``, see touches.py); one live message makes it false, and
  so does any change not made by messages. Segments carry it to the entries and exits it
  causes, and campaigns start nothing on those.

Subscribers either connect to the signal (in-process, after commit) or read the table
after the last id they handled (durable; survives a subscriber that was down).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from .sql import execute, to_json

KINDS = (
    "created",
    "events",
    "identities",
    "traits",
    "computed",
    "stage",
    "consent",
    "merged",
    "merged_away",
    "unmerged",
    "note",
    "restricted",  # a privacy request restricted the person, or the restriction was lifted
)

# Sent with ``changes``: a list of (profile_id, kinds, detail).
profile_changed = Signal()

INSERT = """
INSERT INTO profiles_profilechange (profile_id, kinds, detail, created_at, backfill)
SELECT id, ARRAY(SELECT jsonb_array_elements_text(k)), d, %s, b
FROM unnest(%s::bigint[], %s::jsonb[], %s::jsonb[], %s::boolean[]) AS t(id, k, d, b)
"""


class ChangeSet:
    def __init__(self):
        self.kinds: dict[int, set[str]] = defaultdict(set)
        self.detail: dict[int, dict] = defaultdict(dict)
        # profile -> whether every message seen for it so far was backfilled history
        self.backfill: dict[int, bool] = {}

    def add(self, profile_id: int, kind: str, **detail) -> None:
        assert kind in KINDS, kind
        self.kinds[profile_id].add(kind)
        for key, value in detail.items():
            existing = self.detail[profile_id].get(key)
            if isinstance(existing, list):
                existing.extend(v for v in value if v not in existing)
            else:
                self.detail[profile_id][key] = value

    def add_many(self, profile_ids, kind: str) -> None:
        for pid in profile_ids:
            self.add(pid, kind)

    def came_from(self, profile_id: int, *, backfill: bool) -> None:
        """One message behind the profile's change: backfilled history or live."""
        self.backfill[profile_id] = self.backfill.get(profile_id, True) and backfill

    def is_backfill(self, profile_id: int) -> bool:
        return self.backfill.get(profile_id, False)

    def remap(self, real) -> None:
        """Temporary (negative) profile ids of a processing plan to their real ones."""
        self.kinds = {real(pid): kinds for pid, kinds in self.kinds.items()}
        self.detail = {real(pid): d for pid, d in self.detail.items()}
        self.backfill = {real(pid): b for pid, b in self.backfill.items()}

    def emit(self) -> list[tuple[int, list[str], dict]]:
        """Writes the outbox rows and sends the signal once the transaction commits."""
        changes = [(pid, sorted(k), self.detail.get(pid, {})) for pid, k in self.kinds.items()]
        if not changes:
            return []
        ids = [c[0] for c in changes]
        kinds = [to_json(c[1]) for c in changes]
        details = [to_json(c[2]) for c in changes]
        backfill = [self.is_backfill(pid) for pid in ids]
        execute(INSERT, [timezone.now(), ids, kinds, details, backfill])
        transaction.on_commit(lambda: profile_changed.send(sender=ChangeSet, changes=changes))
        return changes
