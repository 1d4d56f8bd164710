"""What every journey step type is (a StepType), the registry of them (``TYPES``, filled
by ``@register`` as campaigns/step_types/__init__.py imports each type's module), and the
small helpers the types share for their checks and their editor fields. The registry is
here, not in the package's __init__, so that a type's module does not import the package
that imports it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ..models import ActivationSettings, Enrollment

COMMON_FIELDS = frozenset({"id", "type", "label"})


class StepType:
    """One kind of journey step: its grammar (``fields``, ``check``, ``links``), its
    editor fields (``read_fields`` from the posted form, ``write_fields`` back to it,
    its ``template`` campaigns/step_types/<name>.html), what running it does (``run``)
    and a one-line ``describe`` for the flow chart."""

    name = ""
    label = ""
    fields: frozenset[str] = frozenset()  # its own fields, besides id, type and label
    id_stem = ""  # new steps are called <stem>-1, <stem>-2 …; the name when empty
    defaults: dict = {}  # what a new step of this type starts with (copied)
    single_next = True  # one way on, ``next`` (removing the step joins to it)
    destination_kinds: tuple[str, ...] = ()  # what its destination_id may be (Destination.Kind)
    channel = ""  # the Delivery.Channel its run inserts on ("" when it delivers nothing)

    def ends_at(self, step: dict, now: datetime, rules: ActivationSettings) -> datetime | None:
        """When a plain timer entered at ``now`` ends (it acts on nothing and leads to one
        next step): the runner moves such timers in bulk. None for every other type."""
        return None

    @property
    def template(self) -> str:
        return f"campaigns/step_types/{self.name}.html"

    @property
    def all_fields(self) -> frozenset[str]:
        return COMMON_FIELDS | self.fields

    def links(self, step: dict) -> list[tuple[str, str | None]]:
        """(field, step id) of every way out of a step."""
        return [("next", step.get("next"))]

    def link_label(self, step: dict, field: str) -> str:
        """The flow chart's words on the arrow of ``field`` (one of ``links``)."""
        return ""

    def check(self, path: str, step: dict, errors: list) -> None:
        """Appends {"field", "message"} for what is wrong with the type's own fields."""

    def read_fields(self, data, p: str, step: dict) -> None:
        """Fills ``step`` from the posted fields named ``{p}.<field>``."""
        link(data, f"{p}.next", step, "next")

    def write_fields(self, step: dict, p: str, data: dict[str, str]) -> None:
        """Adds the form fields (name -> value) that describe ``step``."""
        data[f"{p}.next"] = text_of(step.get("next"))

    def editor_parts(self, step: dict, p: str, data: dict, errs, fields: dict) -> dict:
        """What the type's template shows besides its fields (variants, …), taking its
        errors from ``errs``: a dict with "errors" (the step's) and anything else."""
        return {}

    def run(self, enrollment: Enrollment, step: dict, *, now: datetime, rules: ActivationSettings):
        """Executes ``step`` on arrival; returns the next step id, None (the end) or STOP."""
        raise NotImplementedError

    def describe(self, step: dict) -> str:
        return ""


TYPES: dict[str, StepType] = {}  # in the editor's menu order (the order of registering)


def register(cls: type[StepType]) -> type[StepType]:
    TYPES[cls.name] = cls()
    return cls


def of(step) -> StepType | None:
    """The type of ``step``, or None when it is not a step of a known type."""
    return TYPES.get(step.get("type")) if isinstance(step, dict) else None


def choices() -> list[tuple[str, str]]:
    return [(name, kind.label) for name, kind in TYPES.items()]


# Checks ---------------------------------------------------------------------------------


def positive(value, high=10**7) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= high


# Editor fields ---------------------------------------------------------------------------


def int_or_text(raw):
    """An int when the text is one, else the text as typed (None when empty)."""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d{1,19}", text):
        return int(text)
    return text


def stripped(raw) -> str:
    return str(raw or "").strip()


def number_or_text(text: str):
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


def posted(data, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else str(value)


def text_of(value) -> str:
    return "" if value is None else str(value)


def link(data, name: str, step: dict, key: str) -> None:
    target = stripped(data.get(name))
    if target:
        step[key] = target


@dataclass
class Field:
    """One editor input: its name (the grammar's path), value and errors."""

    name: str
    value: str
    errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-")

    @property
    def error_id(self) -> str:
        return self.id + "-error"


class Errors:
    """Validation errors by path, each handed out once; the rest are general."""

    def __init__(self, errors: list[dict] | None = None):
        self.by_path: dict[str, list[str]] = {}
        for error in errors or []:
            self.by_path.setdefault(error["field"], []).append(error["message"])
        self.count = len(errors or [])

    def take(self, path: str) -> list[str]:
        return self.by_path.pop(path, [])

    def field(self, name: str, value: str) -> Field:
        """The input ``name`` with its errors."""
        return Field(name, value, self.take(name))

    def take_prefix(self, prefix: str) -> list[tuple[str, str]]:
        found = []
        for path in [p for p in self.by_path if p == prefix or p.startswith(prefix + ".")]:
            for message in self.by_path.pop(path):
                found.append((path, message))
        return found

    def general(self) -> list[str]:
        return [
            f"{path}: {m}" if path != "steps" else m
            for path, messages in self.by_path.items()
            for m in messages
        ]
