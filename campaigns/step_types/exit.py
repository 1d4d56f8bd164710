"""The ``exit`` step: {"id", "type": "exit"}, the journey ends here (as exited)."""

from __future__ import annotations

from .. import moves
from ..models import Enrollment
from .base import StepType, register


@register
class Exit(StepType):
    name, label = "exit", "Exit"
    single_next = False

    def links(self, step):
        return []

    def read_fields(self, data, p, step):
        """No fields besides id and label."""

    def write_fields(self, step, p, data):
        """No fields besides id and label."""

    def run(self, enrollment, step, *, now, rules):
        moves.log(enrollment, step["id"], "exited", now)
        moves.finish(enrollment, Enrollment.State.EXITED, now, "reached an exit step")
        return moves.STOP
