"""Why a pair scored what it did: the prior (how likely two random profiles are one
person) plus each comparison's weight at the level the pair reached. What the waterfall
chart on the model and review pages draws."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .engine import ID, Limits, Pair, _linker


@dataclass(frozen=True)
class Step:
    comparison: str
    level: str
    weight: float


@dataclass(frozen=True)
class Explanation:
    """Why a pair scored what it did: the prior (how likely two random profiles are one
    person) plus each comparison's weight at the level the pair reached; their sum is
    the match weight. What the waterfall chart draws."""

    prior: float
    steps: list[Step]
    weight: float
    probability: float


def prior_weight(model: dict) -> float:
    chance = model.get("probability_two_random_records_match") or 1e-6
    return math.log2(chance / (1 - chance))


def level_label(model: dict, comparison: str, gamma: int | None) -> str:
    """The label of the level ``gamma`` names in a saved model."""
    for spec in model.get("comparisons", []):
        if spec.get("output_column_name") != comparison:
            continue
        levels = spec.get("comparison_levels", [])
        if gamma is None or gamma < 0:
            return next(
                (lv.get("label_for_charts", "") for lv in levels if lv.get("is_null_level")),
                "missing",
            )
        ranked = [lv for lv in levels if not lv.get("is_null_level")]
        index = len(ranked) - 1 - gamma
        return ranked[index].get("label_for_charts", "") if 0 <= index < len(ranked) else ""
    return ""


def explain_pair(model: dict, pair: Pair) -> Explanation:
    """The explanation of a pair a pass scored (its parts and levels were kept)."""
    steps = [
        Step(name, level_label(model, name, pair.levels.get(name)), round(weight or 0.0, 3))
        for name, weight in pair.parts.items()
    ]
    return Explanation(
        prior=round(prior_weight(model), 3),
        steps=steps,
        weight=round(pair.weight, 3),
        probability=pair.probability,
    )


def explain(model: dict, left: dict, right: dict, *, limits: Limits | None = None) -> Explanation:
    """Scores two rows of standard fields with the model and explains it. Names are
    compared without their frequency adjustment (which needs every profile's names):
    the explanation says "without name frequencies" where that applies."""
    rows = [dict(left, **{ID: 1}), dict(right, **{ID: 2})]
    linker = _linker(rows, model, limits or Limits())
    for spec in model.get("comparisons", []):
        for level in spec.get("comparison_levels", []):
            column = level.get("tf_adjustment_column")
            if column:
                for row in rows:  # u of the exact level: an adjustment of nothing
                    row[f"tf_{column}"] = level.get("u_probability") or 0.01
    table = linker.inference.score_pair(rows[0], rows[1]).as_pyarrow_table()
    record = table.to_pylist()[0]
    names = [
        n[3:] for n in table.column_names if n.startswith("mw_") and not n.startswith("mw_tf_adj_")
    ]
    pair = Pair(
        left=1,
        right=2,
        weight=record["match_weight"],
        probability=record["match_probability"],
        parts={
            n: (record[f"mw_{n}"] or 0.0) + (record.get(f"mw_tf_adj_{n}") or 0.0) for n in names
        },
        levels={n: record.get(f"gamma_{n}") for n in names},
    )
    return explain_pair(model, pair)
