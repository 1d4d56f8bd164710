"""Segment condition types, one module each (two where they are two faces of one thing):
see registry.py. Adding a type: a module here with a registered Condition subclass,
imported below, and its builder template segments/conditions/<type>.html."""

from . import consent, event, identifier, segment, sequence, source, stage, trait  # noqa: F401 (each module registers its types)
from .registry import TYPES, Condition, register

__all__ = ["TYPES", "Condition", "register"]
