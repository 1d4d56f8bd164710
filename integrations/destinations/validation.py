"""Checks on a destination's settings shared by the form and the API, each answered at
its field (``{"folder": "why"}``): the form shows them beside the field, the API under
``config.<name>``."""

from __future__ import annotations

from . import exports
from .kinds import KINDS


def config_problems(kind: str, config: dict) -> dict[str, str]:
    problems: dict[str, str] = {}
    for field in KINDS[kind].config:
        value = config.get(field.name)
        if field.type == "path" and value not in (None, ""):
            problem = exports.folder_problem(value)
            if problem:
                problems[field.name] = problem
    return problems
