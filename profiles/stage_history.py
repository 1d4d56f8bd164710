"""A profile's whole stage history, replayed from its events in time order.

The live pass (profiles/stages.py) only knows the stage a batch leaves a profile in. When
the events under a profile change shape (a merge brings another profile's events, an
unmerge takes them back) or history must be rebuilt (a new install's backfill), the
history is replayed: each event is counted against every rule, and a change is written
whenever the furthest rule met moves on, with the event that did it. A retained customer
quiet for the lapse rule's days lapses at that moment, and returns on the next event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from django.utils import timezone

from .models import StageRule
from .models.stage import STAGE_ORDER, Stage
from .sql import execute, rows
from .stages import (
    CURRENT,
    FIRST_ACTIVITY,
    FORGET,
    Rules,
    active_rules,
    quiet_reason,
    reason_for,
    record,
)

EVENTS_IN_ORDER = """
SELECT profile_id, event_id, name, type, "timestamp" FROM profiles_profileevent
WHERE profile_id = ANY(%s) ORDER BY profile_id, "timestamp", event_id
"""


@dataclass(frozen=True)
class Change:
    from_stage: str
    to_stage: str
    at: datetime
    reason: str
    rule_id: int | None
    event_id: int | None
    since: datetime | None  # when the profile entered from_stage

    def row(self) -> tuple:
        """The fields in order (dataclasses.astuple deep-copies each one: slow)."""
        return (
            self.from_stage,
            self.to_stage,
            self.at,
            self.reason,
            self.rule_id,
            self.event_id,
            self.since,
        )


class _Rules:
    """The rules as a replay reads them, worked out once per replay: which rules each
    (name, type) of event counts for, and each rule's rank in the funnel."""

    def __init__(self, rules: list[StageRule], lapsed: StageRule | None):
        self.rules, self.lapsed = rules, lapsed
        self.ranks = [STAGE_ORDER.index(rule.stage) for rule in rules]
        self.names = [frozenset(rule.event_names) for rule in rules]
        self._matching: dict[tuple[str, str], tuple[int, ...]] = {}

    def matching(self, name: str, type_: str) -> tuple[int, ...]:
        key = (name, type_)
        if (found := self._matching.get(key)) is None:
            found = tuple(i for i, n in enumerate(self.names) if name in n or type_ in n)
            self._matching[key] = found
        return found


@dataclass
class _Walk:
    """One profile's replay: the counts per rule so far and the stage they give. A rule
    once met stays met (its counts only grow): the furthest met one is kept as it goes."""

    rules: _Rules
    counts: list[int] = field(default_factory=list)
    days: list[set] = field(default_factory=list)
    stage: str = ""
    rank: int = -1
    best: int | None = None  # the index of the furthest rule met (the first of a rank)
    last_seen: datetime | None = None
    changes: list[Change] = field(default_factory=list)

    def __post_init__(self):
        self.counts = [0] * len(self.rules.rules)
        self.days = [set() for _ in self.rules.rules]
        for i, rule in enumerate(self.rules.rules):
            if rule.min_count <= 0 and rule.min_days <= 0:  # met by any first event
                self._met(i)

    def move(self, to_stage: str, at, reason: str, rule_id=None, event_id=None) -> None:
        since = self.changes[-1].at if self.changes else None
        self.changes.append(Change(self.stage, to_stage, at, reason, rule_id, event_id, since))
        self.stage = to_stage

    def lapse_before(self, moment) -> None:
        """Lapses a retained customer whose quiet spell ran out before ``moment``."""
        lapsed = self.rules.lapsed
        if self.stage != Stage.RETENTION or lapsed is None or self.last_seen is None:
            return
        lapses_at = self.last_seen + timedelta(days=lapsed.quiet_days)
        if lapses_at < moment:
            self.move(Stage.LAPSED, lapses_at, quiet_reason(lapsed), lapsed.pk)

    def _count(self, i: int, at) -> None:
        rule = self.rules.rules[i]
        self.counts[i] += 1
        if rule.min_days > 1:  # else one matching event is one day: no set to keep
            self.days[i].add(at.date())
        days = len(self.days[i]) if rule.min_days > 1 else min(self.counts[i], 1)
        if self.counts[i] >= rule.min_count and days >= rule.min_days:
            self._met(i)

    def _met(self, i: int) -> None:
        rank, best = self.rules.ranks[i], self.best
        if best is None or (rank, -i) > (self.rules.ranks[best], -best):
            self.best = i

    def see(self, event_id: int, name: str, type_: str, at) -> None:
        self.lapse_before(at)
        for i in self.rules.matching(name, type_):
            self._count(i, at)
        self.last_seen = at
        if self.best is None:
            if not self.stage:  # every profile with events is at least being oriented
                self.move(Stage.ORIENTATION, at, FIRST_ACTIVITY, event_id=event_id)
                self.rank = 0
            return
        rank, rule = self.rules.ranks[self.best], self.rules.rules[self.best]
        if rank > self.rank or self.stage == Stage.LAPSED:
            self.move(rule.stage, at, reason_for(rule, self.counts[self.best]), rule.pk, event_id)
            self.rank = rank


def replay(
    profile_ids: list[int], *, now=None, rules: Rules | None = None
) -> dict[int, list[Change]]:
    """Each profile's changes, oldest first; a profile with no events has none. With no
    rule naming events there is no history to tell ({})."""
    if not profile_ids:
        return {}
    rules, lapsed = rules or active_rules()
    if not rules:
        return {}
    now = now or timezone.now()
    ruled = _Rules(rules, lapsed)
    history = {pid: [] for pid in profile_ids}
    found = rows(EVENTS_IN_ORDER, [list(profile_ids)])
    for pid, events in groupby(found, key=lambda row: row[0]):
        walk = _Walk(ruled)
        for _, event_id, name, type_, at in events:
            walk.see(event_id, name, type_, at)
        walk.lapse_before(now)
        history[pid] = walk.changes
    return history


def moves(
    profile_ids: list[int],
    *,
    now=None,
    rules: Rules | None = None,
    recorded: set[int] = frozenset(),
    forgotten=(),
) -> tuple[list[tuple], dict[int, tuple]]:
    """The replayed history in place of the recorded one, for stages.update: the rows to
    write (each profile's oldest first) and each profile's last change. The profiles in
    ``recorded`` may have a history: where the replay begins with it as it is, only the
    changes after it are written; otherwise it is deleted (with that of ``forgotten``,
    merged away) and written anew. Either way the history is the replay's."""
    history = replay(profile_ids, now=now, rules=rules)
    # Read with the rest: a DELETE fires the rollup's trigger even when it finds nothing.
    before = _recorded(sorted((recorded & history.keys()) | set(forgotten)))
    stale, new, ended = [p for p in forgotten if p in before], [], {}
    for pid, changes in history.items():
        replayed = [(pid, *c.row()) for c in changes]
        kept = before.get(pid, [])
        if replayed[: len(kept)] != kept:
            stale.append(pid)
            kept = []
        new += replayed[len(kept) :]
        if replayed:
            ended[pid] = replayed[-1]
    forget(stale)
    return new, ended


RECORDED = """
SELECT profile_id, from_stage, to_stage, changed_at, reason, rule_id, event_id, since
FROM profiles_stagechange WHERE profile_id = ANY(%s) ORDER BY profile_id, changed_at, id
"""


def _recorded(profile_ids: list[int]) -> dict[int, list[tuple]]:
    """The profiles' recorded changes, as rows like the replay's, oldest first."""
    if not profile_ids:
        return {}
    found = rows(RECORDED, [profile_ids])
    return {pid: [tuple(r) for r in group] for pid, group in groupby(found, key=lambda r: r[0])}


def forget(profile_ids: list[int]) -> None:
    """Drops the history of profiles merged into another (it is part of the survivor's)."""
    if profile_ids:
        execute(FORGET, [profile_ids])


def rewrite(profile_ids: list[int], *, now=None) -> list[int]:
    """Replaces the profiles' stage history with the replayed one and sets their current
    stage from it; returns the ids whose current stage changed. Runs in the caller's
    transaction (the merge's, the unmerge's, a backfill chunk's)."""
    history = replay(profile_ids, now=now)
    if not history:
        return []
    before = {pid: stage for pid, stage, _ in rows(CURRENT, [profile_ids])}
    execute(FORGET, [list(history)])
    record([(pid, *c.row()) for pid, changes in history.items() for c in changes])
    return [
        pid
        for pid, changes in history.items()
        if changes and before.get(pid) != changes[-1].to_stage
    ]


def profiles_with_events(*, after: int, chunk: int) -> list[int]:
    """Active profiles in id order after ``after``, for the backfill."""
    return [
        r[0]
        for r in rows(
            "SELECT p.id FROM profiles_profile p WHERE p.merged_into_id IS NULL AND p.id > %s "
            "AND EXISTS (SELECT 1 FROM profiles_profileevent e WHERE e.profile_id = p.id) "
            "ORDER BY p.id LIMIT %s",
            [after, chunk],
        )
    ]


def active_profile_count() -> int:
    return rows("SELECT count(*) FROM profiles_profile WHERE merged_into_id IS NULL", [])[0][0]
