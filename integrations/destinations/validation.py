"""Checks on a destination's settings shared by the form and the API, each answered at
its field (``{"folder": "why"}``): the form shows them beside the field, the API under
``config.<name>``."""

from __future__ import annotations

import re

from . import exports
from .kinds import KINDS, as_list, consent_purposes

TRAIT_KEY = re.compile(r"[\w.$@-]{1,100}\Z")


def config_problems(kind: str, config: dict) -> dict[str, str]:
    problems: dict[str, str] = {}
    for field in KINDS[kind].config:
        value = config.get(field.name)
        if value in (None, ""):
            continue
        problem = _problem(field.type, value)
        if problem:
            problems[field.name] = problem
    return problems


def _problem(kind: str, value) -> str:
    if kind == "path":
        return exports.folder_problem(value)
    if kind == "purpose":
        purposes = consent_purposes()
        if purposes is not None and value not in {slug for slug, _ in purposes}:
            known = ", ".join(slug for slug, _ in purposes)
            return f'"{value}" is not a consent purpose; choose one of: {known}.'
    if kind == "list":
        if not isinstance(value, list | tuple | str):
            return "Give a list of trait keys, or one text with the keys separated by commas."
        bad = [key for key in as_list(value) if not TRAIT_KEY.match(key)]
        if bad:
            return f'"{bad[0]}" is not a trait key (letters, digits, _ . - $ @; at most 100).'
    return ""
