"""What a pass does with its scored pairs: which become merges, which wait for review, and
why a pair above the auto-merge threshold was held back. Reads only: services acts on
the plan, and a dry run reports it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from . import engine, groups, selectors

# Why a pair above the auto-merge threshold was not merged.
UNVERIFIED = "unverified"  # without what only an unverified client asserted, it falls short
UNIQUE_IDENTIFIER = "unique_identifier"  # two different CRM ids, user ids...
DECIDED = "decided"  # a person rejected the pair, or unmerged it
SAMPLES = 20  # examples a dry run shows of each outcome


@dataclass
class Plan:
    groups: list[set[int]] = field(default_factory=list)
    scores: dict[tuple[int, int], engine.Pair] = field(default_factory=dict)
    queue: list[tuple[engine.Pair, list[str]]] = field(default_factory=list)
    held: Counter = field(default_factory=Counter)

    def merge_count(self) -> int:
        return sum(len(group) - 1 for group in self.groups)

    def held_counts(self) -> dict[str, int]:
        return dict(self.held)

    def samples(self) -> list[dict]:
        """Examples of each outcome, by profile id (no personal data in the run's record:
        the page shows the profiles, masked as the viewer's role requires)."""
        merges = [
            {"outcome": "merge", "profiles": sorted(group)} for group in self.groups[:SAMPLES]
        ]
        queued = [
            {
                "outcome": "review",
                "profiles": list(pair.key),
                "probability": round(pair.probability, 4),
                "held_by": reasons,
            }
            for pair, reasons in self.queue[:SAMPLES]
        ]
        return merges + queued


def decide(pairs: list[engine.Pair], *, auto: float, chosen: selectors.Definition) -> Plan:
    """The plan for these pairs at the auto-merge threshold ``auto``."""
    plan = Plan()
    high = [p for p in pairs if p.probability >= auto]
    ids = {i for p in high for i in (p.left, p.right)}
    unverified = selectors.unverified_fields(ids, chosen) if ids else {}
    uniques = selectors.unique_identities(ids) if ids else {}
    decided = selectors.decided_pairs()
    held: set[tuple[int, int]] = set()
    for pair in sorted(pairs, key=lambda p: -p.probability):
        pair_key = pair.key
        plan.scores[pair_key] = pair
        if pair_key in decided:
            held.add(pair_key)
            if pair.probability >= auto:
                plan.held[DECIDED] += 1
            continue
        reasons = _held_by(pair, auto=auto, unverified=unverified, uniques=uniques)
        if reasons:
            held.add(pair_key)
        if pair.probability >= auto and reasons:
            plan.held.update(reasons)
        if pair.probability < auto or reasons:
            plan.queue.append((pair, reasons))
    plan.groups = groups.merge_groups(pairs, threshold=auto, held=held)
    return plan


def _held_by(pair: engine.Pair, *, auto: float, unverified: dict, uniques: dict) -> list[str]:
    reasons = [f"veto:{name}" for name in pair.vetoed_by]
    if pair.probability < auto:
        return reasons
    weak = unverified.get(pair.left, set()) | unverified.get(pair.right, set())
    if weak and pair.without(weak) < auto:
        reasons.append(UNVERIFIED)
    if different_unique_identifiers(uniques.get(pair.left, {}), uniques.get(pair.right, {})):
        reasons.append(UNIQUE_IDENTIFIER)
    return reasons


def different_unique_identifiers(left: dict, right: dict) -> bool:
    return any(left[kind] != right[kind] for kind in left.keys() & right.keys())
