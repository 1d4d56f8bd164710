"""Blocking values shared by too many profiles, left out: a placeholder phone, e-mail or
address would otherwise put every pair of its profiles in one block (a million profiles
with one phone: 5 * 10**11 pairs). Used by training and scoring (engine.py) and by the
warm index for every row that comes later."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def cap_blocks(
    rows: list[dict], blocking: Sequence[Sequence[str]], *, max_block: int
) -> dict[str, list[str]]:
    """Leaves out (sets to None, in place) the values that put more than ``max_block``
    rows in one block of a blocking rule: a placeholder phone, e-mail or address shared by
    many is no evidence, and blocking on it would compare every pair of them (a million
    profiles with one phone: 5 * 10**11 pairs). For a rule of several fields, the value
    left out is the one of its fields most rows share. Returns what was left out, per
    field, for the run's report (and for apply_caps on rows that come later)."""
    capped: dict[str, set] = {}
    for rule in blocking:
        over = _over_full(rows, rule, max_block)
        if not over:
            continue
        counts = {name: Counter(r.get(name) for r in rows) for name in rule}
        for values in over:
            name, value = max(zip(rule, values, strict=True), key=lambda nv: counts[nv[0]][nv[1]])
            capped.setdefault(name, set()).add(value)
        apply_caps(rows, capped)
    return {name: sorted(values) for name, values in capped.items()}


def _over_full(rows: list[dict], rule: Sequence[str], max_block: int) -> list[tuple]:
    keys = Counter(
        tuple(row.get(name) for name in rule)
        for row in rows
        if all(row.get(name) is not None for name in rule)
    )
    return [key for key, n in keys.items() if n > max_block]


def apply_caps(rows: list[dict], capped: dict) -> None:
    """Sets to None, in place, the values ``cap_blocks`` left out."""
    for name, values in capped.items():
        values = set(values)
        for row in rows:
            if row.get(name) in values:
                row[name] = None
