"""The journey step types, one StepType each (campaigns/step_types/base.py), by name.

A step type is its grammar (fields, checks, ways out), its editor fields and template
(campaigns/templates/campaigns/step_types/<name>.html), what running it does and how the
flow chart describes it. The journey grammar (campaigns/steps.py), the editor
(campaigns/journey_form.py, campaigns/journey_actions.py) and the engine
(campaigns/engine.py) dispatch through ``TYPES``; adding a step type is one module here
(registered with ``@register``, imported below) and its template."""

from __future__ import annotations

from .base import StepType

TYPES: dict[str, StepType] = {}  # in the editor's menu order (the order of registering)


def register(cls: type[StepType]) -> type[StepType]:
    TYPES[cls.name] = cls()
    return cls


def of(step) -> StepType | None:
    """The type of ``step``, or None when it is not a step of a known type."""
    return TYPES.get(step.get("type")) if isinstance(step, dict) else None


def choices() -> list[tuple[str, str]]:
    return [(name, kind.label) for name, kind in TYPES.items()]


# Imported after ``register`` exists, which each module calls as it is imported (so not
# at the top); the order here is the editor's menu order.
from . import waits  # noqa: E402, F401, I001
from . import branch  # noqa: E402, F401
from . import split  # noqa: E402, F401
from . import actions  # noqa: E402, F401
from . import exit  # noqa: E402, F401
