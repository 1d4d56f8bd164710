"""The journey editor's buttons: add, remove and reorder steps, add and remove a split's
variants, on a journey's ``steps`` as the editor holds them (valid or not yet: the
validator runs on save, campaigns/journeys/grammar.py)."""

from __future__ import annotations

import copy

from ..step_types import TYPES, of


def new_id(steps: list[dict], kind: str) -> str:
    taken = {s.get("id") for s in steps}
    step_type = TYPES.get(kind)
    stem = (step_type.id_stem if step_type else "") or kind
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def empty_step(kind: str, steps: list[dict]) -> dict:
    """A new step of type ``kind`` with its type's defaults."""
    step: dict = {"id": new_id(steps, kind), "type": kind}
    step_type = TYPES.get(kind)
    step.update(copy.deepcopy(step_type.defaults) if step_type else {})
    return step


def _single_next(step: dict) -> bool:
    step_type = of(step)
    return bool(step_type and step_type.single_next)


def apply_action(steps: list[dict], action: str, *, add_type: str = "wait") -> None:
    """``add`` (a step of ``add_type`` at the end, joined to a last step that has no way on),
    ``remove:i`` (links to it follow its ``next``), ``up:i``/``down:i`` (reorder; the first
    step is the entry), ``add-variant:i``, ``remove-variant:i:j``. Anything else, or an
    index out of range, changes nothing."""
    verb, _, rest = action.partition(":")
    parts = [int(x) for x in rest.split(":") if x.isdigit()]
    if verb == "add":
        _add_step(steps, add_type)
    elif verb in ACTIONS and parts and parts[0] < len(steps):
        ACTIONS[verb](steps, *parts)


def _add_step(steps: list[dict], kind: str) -> None:
    if kind not in TYPES:
        return
    step = empty_step(kind, steps)
    if steps and _single_next(steps[-1]) and not steps[-1].get("next"):
        steps[-1]["next"] = step["id"]
    steps.append(step)


def _remove_step(steps: list[dict], i: int, *_) -> None:
    gone = steps.pop(i)
    follow = gone.get("next") if _single_next(gone) else None
    for step in steps:
        for key in ("next", "timeout_next", "yes", "no"):
            if step.get(key) == gone.get("id"):
                if follow:
                    step[key] = follow
                else:
                    step.pop(key)
        for variant in step.get("variants") or []:
            if isinstance(variant, dict) and variant.get("next") == gone.get("id"):
                variant.pop("next")


def _move(offset: int):
    def move(steps: list[dict], i: int, *_) -> None:
        j = i + offset
        if 0 <= j < len(steps):
            steps[i], steps[j] = steps[j], steps[i]

    return move


def _add_variant(steps: list[dict], i: int, *_) -> None:
    variants = steps[i].setdefault("variants", [])
    if isinstance(variants, list):
        variants.append({"name": chr(ord("A") + len(variants) % 26), "percent": 0})


def _remove_variant(steps: list[dict], i: int, j: int | None = None, *extra) -> None:
    variants = steps[i].get("variants") or []
    if j is not None and not extra and j < len(variants):
        variants.pop(j)


ACTIONS = {
    "remove": _remove_step,
    "up": _move(-1),
    "down": _move(+1),
    "add-variant": _add_variant,
    "remove-variant": _remove_variant,
}
