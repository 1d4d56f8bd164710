"""Journey stage: orientation → consideration → acquisition → retention, and lapsed when
a retained customer goes quiet. A profile is in the furthest stage one of whose rules
its events meet; every change is recorded with its time and the rule that made it.

This module keeps the current stage as events arrive (one aggregate per batch);
profiles/stage_history.py replays a profile's whole history from its events, for merges,
unmerges and the backfill."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .models import StageRule
from .models.stage import STAGE_ORDER, Stage
from .sql import execute, rows

CURRENT = "SELECT id, stage, stage_changed_at FROM profiles_profile WHERE id = ANY(%s)"
RECORD = """
INSERT INTO profiles_stagechange
    (profile_id, from_stage, to_stage, changed_at, reason, rule_id, event_id, since)
SELECT * FROM unnest(
    %s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::bigint[],
    %s::bigint[], %s::timestamptz[]
)
"""
FORGET = "DELETE FROM profiles_stagechange WHERE profile_id = ANY(%s)"
STORE = """
UPDATE profiles_profile p SET stage = v.stage, stage_changed_at = v.at
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS v(id, stage, at) WHERE p.id = v.id
"""


FIRST_ACTIVITY = "first activity"


Rules = tuple[list[StageRule], StageRule | None]


def active_rules() -> Rules:
    """The rules that move profiles forward (those naming events), and the lapse rule
    (one query: a processing batch reads them once)."""
    every = list(StageRule.objects.all())
    rules = [r for r in every if r.stage != Stage.LAPSED and r.event_names]
    lapsed = next((r for r in every if r.stage == Stage.LAPSED and r.quiet_days is not None), None)
    return rules, lapsed


def quiet_reason(lapsed: StageRule) -> str:
    return f"no activity for {lapsed.quiet_days} days"


def _rule_columns(rules: list[StageRule]) -> tuple[str, str, list]:
    """Per event, whether it counts for each rule (worked out once per row, in a subquery
    the planner keeps: OFFSET 0); per profile, each rule's count, days and latest time."""
    matches, columns, params = [], [], []
    for i, rule in enumerate(rules):
        matches.append(f"(name = ANY(%s) OR type = ANY(%s)) AS r{i}")
        params += [rule.event_names] * 2
        columns.append(f"count(*) FILTER (WHERE r{i})")
        if rule.min_days > 1:
            columns.append(f"count(DISTINCT day) FILTER (WHERE r{i})")
        else:  # one matching event is one day: the sort of a DISTINCT spared
            columns.append(f"least(count(*) FILTER (WHERE r{i}), 1)")
        columns.append(f"max(at) FILTER (WHERE r{i})")
    return ", ".join(matches), ", ".join(columns), params


REASON_LENGTH = 200  # profiles_stagechange.reason


def reason_for(rule: StageRule, count: int) -> str:
    """What made the rule match, for people: its events and how many there were. A rule
    may name many events; the recorded reason keeps its end (the count)."""
    reason = f"{', '.join(rule.event_names)} ×{count}"
    if len(reason) <= REASON_LENGTH:
        return reason
    head, _, tail = reason.rpartition(" ×")
    return f"{head[: REASON_LENGTH - len(tail) - 3]}… ×{tail}"


def evaluate(
    profile_ids: list[int], *, now=None, rules: Rules | None = None
) -> dict[int, tuple[str, object, str, int]]:
    """The stage each profile's events put it in: {id: (stage, since, reason, rule id)}."""
    if not profile_ids:
        return {}
    now = now or timezone.now()
    rules, lapsed = rules or active_rules()
    if not rules:
        return {}
    matches, columns, params = _rule_columns(rules)
    # Only constant fragments and placeholders are joined here; event names are parameters.
    sql = f"""
        SELECT profile_id, max(at), {columns} FROM (
            SELECT profile_id, "timestamp" AS at, "timestamp"::date AS day, {matches}
            FROM profiles_profileevent WHERE profile_id = ANY(%s) OFFSET 0
        ) e GROUP BY profile_id
    """  # noqa: S608
    result = {}
    for pid, last_seen, *stats in rows(sql, [*params, profile_ids]):
        best = None
        for i, rule in enumerate(rules):
            count, days, at = stats[3 * i : 3 * i + 3]
            if count >= rule.min_count and days >= rule.min_days:
                rank = STAGE_ORDER.index(rule.stage)
                if best is None or rank > best[0]:
                    best = (rank, rule.stage, at, reason_for(rule, count), rule.pk)
        if best is None:  # every profile with events is at least being oriented
            best = (0, Stage.ORIENTATION, last_seen, FIRST_ACTIVITY, None)
        _, stage, at, reason, rule_id = best
        if stage == Stage.RETENTION and lapsed and last_seen < now - timedelta(lapsed.quiet_days):
            stage, at = Stage.LAPSED, last_seen + timedelta(lapsed.quiet_days)
            reason, rule_id = quiet_reason(lapsed), lapsed.pk
        result[pid] = (stage, at, reason, rule_id)
    return result


def update(
    profile_ids: list[int],
    *,
    now=None,
    replay=None,
    history=True,
    regrouped: tuple[int, ...] | list[int] = (),
    forgotten: tuple[int, ...] | list[int] = (),
) -> list[int]:
    """Moves profiles to the stage their events say; returns the ids that changed.

    The aggregate knows where a profile ends up, not the way there: a batch that takes
    someone from a first visit to an order would be one move. Such profiles (a move past
    a stage) are replayed instead: ``replay`` (profiles.stage_history.moves; the processing
    step passes it) tells each step from their events, in place of their old history. So
    are the ``regrouped`` profiles (a merge or an unmerge changed their events), and the
    history of the ``forgotten`` ones (merged away) is dropped. All is written in one
    statement of each kind (the insights triggers run once per statement). Without
    ``history`` (the throughput benchmark's baseline) only the stage is set."""
    regrouped = set(regrouped) if replay and history else set()
    if not profile_ids and not regrouped and not forgotten:
        return []
    ruled = active_rules()
    wanted = evaluate([p for p in profile_ids if p not in regrouped], now=now, rules=ruled)
    asked = list(wanted) + sorted(regrouped)
    found = rows(CURRENT, [asked]) if asked else []
    current = {pid: stage for pid, stage, _ in found}
    since = {pid: at for pid, _, at in found}
    changed = [pid for pid, wants in wanted.items() if current.get(pid) != wants[0]]
    skipped = (
        {p for p in changed if _skips_a_stage(current[p], wanted[p][0])}
        if replay and history
        else set()
    )
    moved = [p for p in changed if p not in skipped]
    # The aggregate does not know which event it was: event_id is None.
    moves = [(p, current[p], *wanted[p], None, since[p] if current[p] else None) for p in moved]
    latest = {move[0]: move for move in moves}
    if skipped or regrouped:
        recorded = {p for p in skipped if current[p] or since[p]} | regrouped  # none if new
        new, ended = replay(
            sorted(skipped | regrouped),
            now=now,
            rules=ruled,
            recorded=recorded,
            forgotten=forgotten,
        )
        moves += new
        latest.update(ended)
        moved += sorted(p for p, move in ended.items() if move[2] != current.get(p))
    elif forgotten and history:
        execute(FORGET, [list(forgotten)])
    record(moves, history=history, latest=latest)
    return moved


def record(moves: list[tuple], *, history: bool = True, latest: dict | None = None) -> None:
    """Writes stage changes, each (profile id, from, to, at, reason, rule id, event id,
    since) in time order (not without ``history``), and sets each profile's stage to its
    last one (or to that of ``latest``: {profile id: its last change}, written or not)."""
    if history and moves:
        execute(RECORD, [list(column) for column in zip(*moves, strict=True)])
    latest = {move[0]: move for move in moves} if latest is None else latest
    if latest:
        ends = latest.values()
        execute(STORE, [list(latest), [m[2] for m in ends], [m[3] for m in ends]])


def _skips_a_stage(current: str, wanted: str) -> bool:
    """A move further than the next stage (a new profile's first stage is its next)."""
    if wanted == Stage.LAPSED or current == Stage.LAPSED:
        return False  # a lapse or a return: one step, whatever the funnel order
    before = STAGE_ORDER.index(current) if current else -1
    return STAGE_ORDER.index(wanted) - before > 1


def retained_profile_ids(*, after: int, chunk: int) -> list[int]:
    return [
        r[0]
        for r in rows(
            "SELECT id FROM profiles_profile WHERE stage IN ('retention', 'lapsed') "
            "AND merged_into_id IS NULL AND id > %s ORDER BY id LIMIT %s",
            [after, chunk],
        )
    ]
