"""The journey grammar: a campaign's ``steps``, a list of steps joined by ids. The first
step is where everyone enters; a step without ``next`` ends the journey.

    wait            {"id", "type": "wait", "minutes": N, "next"}
                    {"id", "type": "wait", "until": "09:00", "next"}   (next time of day, UTC)
    wait_for_event  {"id", "type": "wait_for_event", "event": E, "timeout_minutes": N,
                     "next": id (the event came), "timeout_next": id}
    branch          {"id", "type": "branch", "condition": C, "yes": id, "no": id}
                    C: a segments rule node (segments/grammar.py), e.g. a segment membership
                    or a trait condition, or {"type": "event_since_entry", "name": E}
    split           {"id", "type": "split", "variants": [{"name": "A", "percent": 45,
                     "next": id}, ..., {"name": "holdout", "percent": 10, "holdout": true}]}
    send_email      {"id", "type": "send_email", "template_id", "destination_id", "next"}
    audience        {"id", "type": "audience", "destination_id", "action": "add"|"remove",
                     "next"}
    webhook         {"id", "type": "webhook", "destination_id", "next"}
    esp_list        {"id", "type": "esp_list", "destination_id", "action":
                     "subscribe"|"update"|"unsubscribe", "next"}
    set_trait       {"id", "type": "set_trait", "key", "value", "next"}
    exit            {"id", "type": "exit"}

Errors name their place (``steps[2].timeout_minutes``) like the segment grammar's.
"""

from __future__ import annotations

import re

from cdp_site.field_errors import FieldErrors
from segments import grammar as segment_grammar

TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
ACTIONS = {"send_email", "audience", "webhook", "esp_list", "set_trait"}
FIELDS = {
    "wait": {"id", "type", "minutes", "until", "next", "label"},
    "wait_for_event": {"id", "type", "event", "timeout_minutes", "next", "timeout_next", "label"},
    "branch": {"id", "type", "condition", "yes", "no", "label"},
    "split": {"id", "type", "variants", "label"},
    "send_email": {"id", "type", "template_id", "destination_id", "next", "label"},
    "audience": {"id", "type", "destination_id", "action", "next", "label"},
    "webhook": {"id", "type", "destination_id", "next", "label"},
    "esp_list": {"id", "type", "destination_id", "action", "next", "label"},
    "set_trait": {"id", "type", "key", "value", "next", "label"},
    "exit": {"id", "type", "label"},
}
MAX_STEPS = 100


class StepsError(FieldErrors):
    """What is wrong with a journey's steps, each at its path (``steps[2].minutes``)."""


def links(step: dict) -> list[tuple[str, str | None]]:
    """(field, step id) of every way out of a step."""
    kind = step.get("type")
    if kind == "branch":
        return [("yes", step.get("yes")), ("no", step.get("no"))]
    if kind == "split":
        return [
            (f"variants[{i}].next", v.get("next"))
            for i, v in enumerate(step.get("variants") or [])
            if isinstance(v, dict)
        ]
    if kind == "wait_for_event":
        return [("next", step.get("next")), ("timeout_next", step.get("timeout_next"))]
    if kind == "exit":
        return []
    return [("next", step.get("next"))]


def _positive(value, high=10**7) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= high


def _check_step(path: str, step: dict, errors: list) -> None:
    """Fields that are not the step type's, then its own checks (``_check_<type>``)."""
    kind = step.get("type")
    for name in sorted(set(step) - FIELDS[kind]):
        errors.append({"field": f"{path}.{name}", "message": f"“{name}” is not part of this step."})
    check = STEP_CHECKS.get(kind)
    if check:
        check(path, step, errors)


def _check_wait(path: str, step: dict, errors: list) -> None:
    if ("minutes" in step) == ("until" in step):
        errors.append({"field": path, "message": "Wait a number of minutes or until a time."})
    elif "minutes" in step and not _positive(step["minutes"]):
        errors.append({"field": f"{path}.minutes", "message": "Enter a whole number of minutes."})
    elif "until" in step and not (
        isinstance(step["until"], str) and TIME_OF_DAY.match(step["until"])
    ):
        errors.append({"field": f"{path}.until", "message": "Enter a time as HH:MM."})


def _check_wait_for_event(path: str, step: dict, errors: list) -> None:
    if not isinstance(step.get("event"), str) or not step["event"].strip():
        errors.append({"field": f"{path}.event", "message": "Choose the event to wait for."})
    if not _positive(step.get("timeout_minutes")):
        errors.append(
            {
                "field": f"{path}.timeout_minutes",
                "message": "Enter how many minutes to wait at most.",
            }
        )


def _check_branch(path: str, step: dict, errors: list) -> None:
    _check_condition(f"{path}.condition", step.get("condition"), errors)


def _check_split(path: str, step: dict, errors: list) -> None:
    _check_variants(path, step.get("variants"), errors)


# What an activation step's ``action`` may be, per step type (None: it has none).
ACTIONS = {
    "send_email": None,
    "webhook": None,
    "audience": (("add", "remove"), "Choose add or remove."),
    "esp_list": (
        ("subscribe", "update", "unsubscribe"),
        "Choose subscribe, update or unsubscribe.",
    ),
}


def _check_activation(path: str, step: dict, errors: list) -> None:
    kind = step["type"]
    if not _positive(step.get("destination_id"), 2**62):
        errors.append({"field": f"{path}.destination_id", "message": "Choose a destination."})
    if kind == "send_email" and not _positive(step.get("template_id"), 2**62):
        errors.append({"field": f"{path}.template_id", "message": "Choose a message."})
    if ACTIONS[kind] and step.get("action") not in ACTIONS[kind][0]:
        errors.append({"field": f"{path}.action", "message": ACTIONS[kind][1]})


def _check_set_trait(path: str, step: dict, errors: list) -> None:
    if not (isinstance(step.get("key"), str) and step["key"].strip()):
        errors.append({"field": f"{path}.key", "message": "Enter the trait to set."})


STEP_CHECKS = {
    "wait": _check_wait,
    "wait_for_event": _check_wait_for_event,
    "branch": _check_branch,
    "split": _check_split,
    "send_email": _check_activation,
    "audience": _check_activation,
    "webhook": _check_activation,
    "esp_list": _check_activation,
    "set_trait": _check_set_trait,
}


def _check_condition(path: str, condition, errors: list) -> None:
    if isinstance(condition, dict) and condition.get("type") == "event_since_entry":
        if not isinstance(condition.get("name"), str) or not condition["name"].strip():
            errors.append({"field": f"{path}.name", "message": "Choose an event."})
        return
    root = (
        condition
        if isinstance(condition, dict) and condition.get("type") == "group"
        else {"type": "group", "match": "all", "children": [condition]}
    )
    try:
        segment_grammar.validate({"version": 1, "root": root})
    except segment_grammar.RuleError as error:
        for item in error.errors:
            errors.append(
                {"field": item["field"].replace("root", path, 1), "message": item["message"]}
            )


def _check_variants(path: str, variants, errors: list) -> None:
    if not isinstance(variants, list) or not 2 <= len(variants) <= 10:
        errors.append({"field": f"{path}.variants", "message": "A split has 2 to 10 variants."})
        return
    total = 0
    for i, variant in enumerate(variants):
        here = f"{path}.variants[{i}]"
        if not isinstance(variant, dict) or not str(variant.get("name") or "").strip():
            errors.append({"field": f"{here}.name", "message": "Name the variant."})
            continue
        percent = variant.get("percent")
        if not _positive(percent, 100):
            errors.append({"field": f"{here}.percent", "message": "Enter a percentage."})
        else:
            total += percent
    if total and total != 100:
        errors.append({"field": f"{path}.variants", "message": "The percentages add up to 100."})


def validate(steps) -> None:
    """Raises StepsError listing every problem of a journey."""
    errors: list[dict] = []
    if not isinstance(steps, list) or not steps:
        raise StepsError([{"field": "steps", "message": "A journey needs at least one step."}])
    if len(steps) > MAX_STEPS:
        raise StepsError([{"field": "steps", "message": f"At most {MAX_STEPS} steps."}])
    ids = {}
    for i, step in enumerate(steps):
        path = f"steps[{i}]"
        if not isinstance(step, dict) or step.get("type") not in FIELDS:
            errors.append({"field": f"{path}.type", "message": "Choose what this step does."})
            continue
        sid = step.get("id")
        if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", sid):
            errors.append({"field": f"{path}.id", "message": "Give the step a short id."})
        elif sid in ids:
            errors.append({"field": f"{path}.id", "message": f"Two steps are called {sid}."})
        else:
            ids[sid] = i
        _check_step(path, step, errors)
    for i, step in enumerate(steps):
        if isinstance(step, dict) and step.get("type") in FIELDS:
            for field, target in links(step):
                if target is not None and target not in ids:
                    errors.append(
                        {"field": f"steps[{i}].{field}", "message": f"No step is called {target}."}
                    )
    if not errors:
        errors += _shape_errors(steps)
    if errors:
        raise StepsError(errors)


def _shape_errors(steps: list[dict]) -> list[dict]:
    """Journeys go forward: every step is reachable from the first, and no path comes
    back to a step it passed (a loop would message the same person again and again)."""
    index = {step["id"]: i for i, step in enumerate(steps)}
    errors, state = [], {}  # state: 1 on the current path, 2 done

    def visit(sid: str) -> None:
        state[sid] = 1
        step = steps[index[sid]]
        for field, target in links(step):
            if target is None:
                continue
            if state.get(target) == 1:
                errors.append(
                    {
                        "field": f"steps[{index[sid]}].{field}",
                        "message": f"This leads back to {target}: journeys cannot loop.",
                    }
                )
            elif target not in state:
                visit(target)
        state[sid] = 2

    visit(steps[0]["id"])
    for step in steps:
        if step["id"] not in state:
            errors.append(
                {
                    "field": f"steps[{index[step['id']]}]",
                    "message": f"Nothing leads to {step['id']}.",
                }
            )
    return errors


def by_id(steps: list[dict]) -> dict[str, dict]:
    return {step["id"]: step for step in steps}
