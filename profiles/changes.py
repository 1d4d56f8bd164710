"""The change signal: what segments and campaigns subscribe to.

Contract. Whenever processing (or a person, through a service) changes a profile, one
``ProfileChange`` row per changed profile is written in the same transaction as the
change, and after commit the ``profile_changed`` signal is sent once with all of them.

- ``profile_id``: the profile that changed (a merged-away profile reports its own id
  with ``merged_away``; its survivor reports ``merged``).
- ``kinds``: a subset of KINDS below, saying what changed.
- ``detail``: kind-specific extras, e.g. ``{"merged": [ids]}``, ``{"stage": "retention"}``,
  ``{"event_names": [...]}`` so that a subscriber re-evaluates only what depends on it.

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
)

# Sent with ``changes``: a list of (profile_id, kinds, detail).
profile_changed = Signal()

INSERT = """
INSERT INTO profiles_profilechange (profile_id, kinds, detail, created_at)
SELECT id, ARRAY(SELECT jsonb_array_elements_text(k)), d, %s
FROM unnest(%s::bigint[], %s::jsonb[], %s::jsonb[]) AS t(id, k, d)
"""


class ChangeSet:
    def __init__(self):
        self.kinds: dict[int, set[str]] = defaultdict(set)
        self.detail: dict[int, dict] = defaultdict(dict)

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

    def emit(self) -> list[tuple[int, list[str], dict]]:
        """Writes the outbox rows and sends the signal once the transaction commits."""
        changes = [(pid, sorted(k), self.detail.get(pid, {})) for pid, k in self.kinds.items()]
        if not changes:
            return []
        ids = [c[0] for c in changes]
        kinds = [to_json(c[1]) for c in changes]
        execute(INSERT, [timezone.now(), ids, kinds, [to_json(c[2]) for c in changes]])
        transaction.on_commit(lambda: profile_changed.send(sender=ChangeSet, changes=changes))
        return changes
