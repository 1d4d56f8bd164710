"""The replay keeps the furthest rule met as it goes (only the rules an event matches are
counted): on random journeys and rule sets it tells the same changes as the plain reading
of the rules below, which weighs every rule again on every event."""

import random
from datetime import UTC, datetime, timedelta

from profiles.models import StageRule
from profiles.models.stage import STAGE_ORDER
from profiles.stage_history import _Rules, _Walk
from profiles.stages import FIRST_ACTIVITY, quiet_reason, reason_for

FUNNEL = ["orientation", "consideration", "acquisition", "retention"]
NAMES = ["Product Viewed", "Order Completed", "Cart Viewed", "", "page", "screen", "track"]


def reference(rules, lapsed, events, now) -> list[tuple]:
    """(from, to, at, reason, rule id, event id, since) of each change, every rule weighed
    on every event."""
    counts, days, changes = [0] * len(rules), [set() for _ in rules], []
    stage, rank, last_seen = "", -1, None

    def move(to, at, reason, rule_id=None, event_id=None):
        since = changes[-1][2] if changes else None
        changes.append((stage, to, at, reason, rule_id, event_id, since))
        return to

    def lapse_before(moment):
        if stage == "retention" and lapsed and last_seen:
            at = last_seen + timedelta(days=lapsed.quiet_days)
            if at < moment:
                return move("lapsed", at, quiet_reason(lapsed), lapsed.pk)
        return stage

    for event_id, name, type_, at in events:
        stage = lapse_before(at)
        best = None
        for i, rule in enumerate(rules):
            if name in rule.event_names or type_ in rule.event_names:
                counts[i] += 1
                days[i].add(at.date())
            if counts[i] >= rule.min_count and len(days[i]) >= rule.min_days:
                r = STAGE_ORDER.index(rule.stage)
                if best is None or r > best[0]:
                    best = (r, rule, counts[i])
        last_seen = at
        if best is None:
            if not stage:
                stage, rank = move("orientation", at, FIRST_ACTIVITY, event_id=event_id), 0
        elif best[0] > rank or stage == "lapsed":
            r, rule, count = best
            stage = move(rule.stage, at, reason_for(rule, count), rule.pk, event_id)
            rank = r
    lapse_before(now)
    return changes


def random_case(rng):
    rules = [
        StageRule(
            pk=k + 1,
            stage=rng.choice(FUNNEL),
            event_names=rng.sample(NAMES, rng.randint(1, 3)),
            min_count=rng.choice([0, 1, 1, 2, 3]),
            min_days=rng.choice([0, 1, 1, 2]),
        )
        for k in range(rng.randint(1, 6))
    ]
    lapsed = rng.choice([None, StageRule(pk=99, stage="lapsed", quiet_days=rng.choice([1, 3]))])
    at, events = datetime(2026, 1, 1, tzinfo=UTC), []
    for event_id in range(rng.randint(1, 30)):
        at += timedelta(hours=rng.choice([0.1, 1, 10, 30, 100]))
        events.append((event_id, rng.choice(NAMES), rng.choice(["track", "page", "screen"]), at))
    return rules, lapsed, events, at + timedelta(days=rng.choice([0, 5]))


def test_the_replay_tells_the_changes_the_rules_say_on_random_journeys():
    rng = random.Random(14)
    moved = 0
    for _ in range(2000):
        rules, lapsed, events, now = random_case(rng)
        walk = _Walk(_Rules(rules, lapsed))
        for event in events:
            walk.see(*event)
        walk.lapse_before(now)
        expected = reference(rules, lapsed, events, now)
        assert [c.row() for c in walk.changes] == expected, (rules, events)
        moved += len(expected) > 1
    assert moved > 500  # the cases move people on, not only orient them
