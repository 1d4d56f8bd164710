"""Retention (README, "Retention"): events kept per source and event name, inactive
profiles anonymised or deleted, and the operational tables' windows, all in one daily run.

- rules.py: which rule applies to an event (the most specific wins) and its cutoff.
- events.py: the raw events' month partitions dropped, resolved events (and their raw
  copies) deleted in batches.
- people.py: inactive profiles anonymised, or deleted through the personal-data registry.
- operational.py: the other apps' purges, run from here with their windows listed.
- selectors.py: what the next run will remove (``plan``); services.py: the run and the
  rules' and settings' edits (audited).
"""
