"""Computed traits: computing them (traits.py: for the profiles a batch touched and the
scheduled pass when a window slides) and backfilling a definition for every profile
(backfill.py, run by the tasks in profiles/tasks.py); quintile scores and the RFM segment
for everyone at once (scores.py). Their definitions are edited with
the rules (profiles/rules/). The pipeline and the scheduled pass call the two below."""

from .scores import recompute_scores
from .traits import recompute, recompute_sliding

__all__ = ["recompute", "recompute_scores", "recompute_sliding"]
