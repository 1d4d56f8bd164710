"""Where a pass is: written as it goes, so its page draws a bar and the command line one.

A pass reads the profiles, scores them (Splink, one step that says nothing until done),
decides, queues pairs for review and merges, one merge and transaction at a time. Each
phase is written on the run as it starts, and the merges every ``EVERY`` of them, by an
UPDATE of its own (a pass holds no transaction open): the page polls the run and sees it.
Merges commit one by one, so a pass whose worker was lost has kept what it merged, and the
next pass goes on from there (the merged profiles are gone from what it scores).
"""

from __future__ import annotations

from collections.abc import Callable

from ..models import MatchRun

READING, SCORING, DECIDING, QUEUEING, MERGING = (
    "reading",
    "scoring",
    "deciding",
    "queueing",
    "merging",
)
LABELS = {
    READING: "Reading profiles",
    SCORING: "Scoring pairs",
    DECIDING: "Deciding",
    QUEUEING: "Queueing pairs for review",
    MERGING: "Merging",
}
EVERY = 100  # merges between two updates of the run's count

Listener = Callable[[str, int, int], None]  # (phase, done, total)


class Progress:
    """Writes one run's progress (none for the incremental matcher's micro-batches, which
    have no run), and tells ``listener`` (the command's bar) too."""

    def __init__(self, run: MatchRun | None, *, listener: Listener | None = None):
        self.run, self.listener = run, listener
        self.current, self.total = "", 0

    def phase(self, phase: str, *, total: int = 0) -> None:
        self._write(phase, 0, total)

    def advanced(self, done: int) -> None:
        """``done`` of the phase's total so far; written every EVERY and at the end."""
        if done % EVERY == 0 or done >= self.total:
            self._write(self.current, done, self.total)

    def _write(self, phase: str, done: int, total: int) -> None:
        self.current, self.total = phase, total
        if self.run is not None:  # kept on the instance too: the pass saves it at the end
            run = self.run
            run.phase, run.done, run.total = phase, done, total
            MatchRun.objects.filter(pk=run.pk).update(phase=phase, done=done, total=total)
        if self.listener:
            self.listener(phase, done, total)
