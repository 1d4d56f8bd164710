"""The journey editor's buttons: add, remove and reorder steps, add and remove a split's
variants, on a journey's ``steps`` as the editor holds them (valid or not yet: the
validator runs on save, campaigns/steps.py)."""

from __future__ import annotations

from .journey_form import SINGLE_NEXT, TYPE_LABELS


def new_id(steps: list[dict], kind: str) -> str:
    taken = {s.get("id") for s in steps}
    stem = {"wait_for_event": "await", "send_email": "email"}.get(kind, kind)
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def empty_step(kind: str, steps: list[dict]) -> dict:
    step: dict = {"id": new_id(steps, kind), "type": kind}
    defaults = {
        "wait": {"minutes": 60},
        "wait_for_event": {"event": "", "timeout_minutes": 1440},
        "branch": {"condition": {"type": "event_since_entry", "name": ""}},
        "split": {"variants": [{"name": "A", "percent": 50}, {"name": "B", "percent": 50}]},
        "send_email": {"template_id": None, "destination_id": None},
        "audience": {"destination_id": None, "action": "add"},
        "webhook": {"destination_id": None},
        "esp_list": {"destination_id": None, "action": "subscribe"},
        "set_trait": {"key": "", "value": ""},
    }
    step.update(defaults.get(kind, {}))
    return step


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
    if kind not in TYPE_LABELS:
        return
    step = empty_step(kind, steps)
    if steps and steps[-1].get("type") in SINGLE_NEXT and not steps[-1].get("next"):
        steps[-1]["next"] = step["id"]
    steps.append(step)


def _remove_step(steps: list[dict], i: int, *_) -> None:
    gone = steps.pop(i)
    follow = gone.get("next") if gone.get("type") in SINGLE_NEXT else None
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
