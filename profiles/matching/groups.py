"""Who the scored pairs join: connected components, and the auto-merges' groups, which
never join across a pair held apart."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .engine import Pair


def pairs_to_clusters(pairs: Iterable[tuple[int, int]]) -> list[set[int]]:
    """Connected components of the pairs (union-find): who would end up as one person."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for left, right in pairs:
        parent[find(left)] = find(right)
    groups: dict[int, set[int]] = {}
    for node in parent:
        groups.setdefault(find(node), set()).add(node)
    return [g for g in groups.values() if len(g) > 1]


def merge_groups(
    pairs: Sequence[Pair], *, threshold: float, held: set[tuple[int, int]] = frozenset()
) -> list[set[int]]:
    """Who the auto-merges would join: pairs at or above ``threshold`` without a veto
    (nor ``held``: (low, high) pairs kept apart for another reason), strongest first,
    joining two groups only if no such pair lies between them. Plain connected
    components would chain a household through one ambiguous record ("J. Lewis" scoring
    high with both John and Jesse Lewis) into one person."""
    parent: dict[int, int] = {}
    members: dict[int, set[int]] = {}
    cannot: dict[int, set[int]] = {}
    apart = [(p.left, p.right) for p in pairs if p.vetoed_by] + list(held)
    for left, right in apart:
        cannot.setdefault(left, set()).add(right)
        cannot.setdefault(right, set()).add(left)

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in sorted(pairs, key=lambda p: -p.probability):
        if pair.vetoed_by or pair.probability < threshold:
            continue
        if pair.key in held:
            continue
        a, b = find(pair.left), find(pair.right)
        if a == b:
            continue
        group_a, group_b = members.get(a, {a}), members.get(b, {b})
        if any(cannot.get(x, set()) & group_b for x in group_a):
            continue
        parent[a] = b
        members[b] = group_a | group_b
        members.pop(a, None)
    return [group for group in members.values() if len(group) > 1]
