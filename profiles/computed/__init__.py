"""Computed traits: computing them (traits.py: for the profiles a batch touched and the
scheduled pass when a window slides) and backfilling a definition for every profile
(backfill.py, run by the tasks in profiles/tasks.py). Their definitions are edited with
the rules (profiles/rules/). The pipeline and the scheduled pass call the two below."""

from .traits import recompute, recompute_sliding

__all__ = ["recompute", "recompute_sliding"]
