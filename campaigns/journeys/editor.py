"""The journey editor's form fields ⇄ a campaign's ``steps`` (campaigns/journeys/grammar.py).

Input names are the grammar's own paths, so that an error from ``steps.validate``
(``steps[2].timeout_minutes``) lands next to the input of the same name:
``steps[i].id``, ``.type``, ``.label`` for every step, and each step type's own fields
(its ``read_fields`` / ``write_fields`` in campaigns/step_types/, shown by its template
campaigns/step_types/<type>.html).

Numbers that do not parse stay text, so the validator names them and the input keeps
what was typed. ``fields_to_steps(steps_to_fields(s)) == s`` for every valid journey.
"""

from __future__ import annotations

import re

from .. import step_types
from ..step_types.base import Errors, Field, link, posted, stripped, text_of
from . import grammar

STEP_NAME = re.compile(r"^steps\[(\d+)\]\.")


def step_types_menu() -> list[tuple[str, str]]:
    """(type, label) of every step type, for the editor's "What it does"."""
    return step_types.choices()


def type_label(kind) -> str:
    step_type = step_types.TYPES.get(kind) if isinstance(kind, str) else None
    return step_type.label if step_type else "Step"


def step_count(data) -> int:
    indexes = {int(m.group(1)) for key in data if (m := STEP_NAME.match(key))}
    return max(indexes) + 1 if indexes else 0


def fields_to_steps(data) -> list[dict]:
    """Rebuilds the journey from posted fields (a QueryDict or a plain dict)."""
    steps = []
    for i in range(step_count(data)):
        p = f"steps[{i}]"
        kind = posted(data, f"{p}.type")
        if not kind:
            continue
        step: dict = {"id": posted(data, f"{p}.id").strip(), "type": kind}
        label = stripped(data.get(f"{p}.label"))
        if label:
            step["label"] = label
        step_type = step_types.TYPES.get(kind)
        if step_type:
            step_type.read_fields(data, p, step)
        else:
            link(data, f"{p}.next", step, "next")  # the validator names the type
        steps.append(step)
    return steps


def steps_to_fields(steps: list[dict]) -> dict[str, str]:
    """The form fields (name -> value) that describe ``steps``."""
    data: dict[str, str] = {}
    for i, step in enumerate(steps):
        p = f"steps[{i}]"
        data[f"{p}.id"] = text_of(step.get("id"))
        data[f"{p}.type"] = step.get("type", "")
        data[f"{p}.label"] = text_of(step.get("label"))
        step_type = step_types.of(step)
        if step_type:
            step_type.write_fields(step, p, data)
    return data


# The editor's view of the journey ---------------------------------------------------------


def editor_view(steps: list[dict], errors: list[dict] | None = None) -> dict:
    """Per step, its fields (value + errors) for the template; and the errors left over."""
    data = steps_to_fields(steps)
    errs = Errors(errors)
    out = []
    for i, step in enumerate(steps):
        p = f"steps[{i}]"
        fields: dict[str, Field] = {}
        for name, value in data.items():
            if name.startswith(p + ".") and "variants[" not in name:
                short = name[len(p) + 1 :]
                fields[short.replace(".", "_")] = Field(name, value, errs.take(name))
        step_errors = errs.take(p) + errs.take(f"{p}.type")
        step_type = step_types.of(step)
        parts = step_type.editor_parts(step, p, data, errs, fields) if step_type else {}
        step_errors += parts.get("errors", [])
        variants = parts.get("variants", [])
        condition_errors = parts.get("condition_errors", [])
        for name in ("id", "label", "type"):
            fields.setdefault(name, Field(f"{p}.{name}", "", []))
        out.append(
            {
                "index": i,
                "path": p,
                "step": step,
                "type": step.get("type"),
                "kind": step_type,
                "template": step_type.template if step_type else "",
                "type_label": type_label(step.get("type")),
                "f": fields,
                "variants": variants,
                "errors": step_errors,
                "condition_errors": condition_errors,
                "has_errors": bool(
                    step_errors
                    or condition_errors
                    or any(f.errors for f in fields.values())
                    or any(v[k].errors for v in variants for k in ("name", "percent", "next"))
                ),
            }
        )
    return {"steps": out, "general": errs.general(), "count": errs.count}


def check(steps: list[dict]) -> list[dict]:
    """The validator's errors for ``steps`` (empty when valid)."""
    try:
        grammar.validate(steps)
    except grammar.StepsError as error:
        return error.errors
    return []
