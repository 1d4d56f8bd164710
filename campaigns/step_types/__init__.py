"""The journey step types, one StepType each (campaigns/step_types/base.py), by name.

A step type is its grammar (fields, checks, ways out), its editor fields and template
(campaigns/templates/campaigns/step_types/<name>.html), what running it does and how the
flow chart describes it. The journey grammar, editor and buttons (campaigns/journeys/)
and the engine (campaigns/engine.py) dispatch through ``TYPES``; adding a step type is
one module here (registered with ``@register``, imported below) and its template."""

from __future__ import annotations

# Importing a type's module registers it (base.register), so the order of these imports
# is the order of the editor's "What it does" menu: not sorted.
# isort: off
from . import waits  # noqa: F401
from . import branch  # noqa: F401
from . import split  # noqa: F401
from . import actions  # noqa: F401
from . import exit  # noqa: F401

# isort: on
from .base import TYPES, StepType, choices, of, register

__all__ = ["TYPES", "StepType", "choices", "of", "register"]
