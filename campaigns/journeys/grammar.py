"""The journey grammar: a campaign's ``steps``, a list of steps joined by ids. The first
step is where everyone enters; a step without ``next`` ends the journey. Each step type's
fields and checks are its StepType's (campaigns/step_types/: wait, wait_for_event,
branch, split, send_email, audience, webhook, esp_list, set_trait, exit); here are what
all steps share (ids, fields that are not the type's, links to steps that exist) and the
journey's shape (no loops, every step reachable).

Errors name their place (``steps[2].timeout_minutes``) like the segment grammar's.
"""

from __future__ import annotations

import re

from cdp_site.field_errors import FieldErrors

from ..step_types import TYPES, of

MAX_STEPS = 100


class StepsError(FieldErrors):
    """What is wrong with a journey's steps, each at its path (``steps[2].minutes``)."""


def links(step: dict) -> list[tuple[str, str | None]]:
    """(field, step id) of every way out of a step (``next`` when its type is unknown)."""
    kind = of(step)
    return kind.links(step) if kind else [("next", step.get("next"))]


def _check_step(path: str, step: dict, errors: list) -> None:
    """Fields that are not the step type's, then the type's own checks."""
    kind = TYPES[step.get("type")]
    for name in sorted(set(step) - kind.all_fields):
        errors.append({"field": f"{path}.{name}", "message": f"“{name}” is not part of this step."})
    kind.check(path, step, errors)


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
        if not isinstance(step, dict) or of(step) is None:
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
        if isinstance(step, dict) and of(step) is not None:
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
