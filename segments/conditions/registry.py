"""The registry of condition types: one class per type, registered by name.

A type holds everything about its condition: the fields it may have, what it reads (in
the words of the profiles' change signal), its validation, its builder fields in (posted
form -> rule JSON) and out (rule JSON -> form values), its template, its SQL, its words
and its explanation. The modules that walk a rule (grammar, builder, compiler, explain)
handle groups and the pieces several types share (comparisons, windows, property
filters) and hand each condition to its type, passing themselves so that a type can use
those shared pieces: ``v`` the grammar's Validator, ``f`` the builder's Fields (posted
input), ``out`` the builder's Out (form values), ``c`` the Compiler, ``d`` the Describer,
``x`` the Explainer. Types import none of those modules, which import the registry.
"""

from __future__ import annotations

import copy
from typing import Any

from django.db.models import Q


class Condition:
    """A condition type. Subclasses set the class attributes and implement the methods."""

    name: str = ""  # the rule's "type"
    label: str = ""  # in the builder's "add condition" list
    order: int = 0  # its place in that list
    fields: frozenset[str] = frozenset()  # the keys a condition of this type may have
    reads: frozenset[str] = frozenset()  # what it reads, for real-time evaluation
    empty: dict[str, Any] = {}  # a new condition, as the builder adds it (not yet valid)
    # On the profile row alone: it can restrict a grouped event count (the compiler).
    profile_row: bool = False
    extra_inputs: tuple[str, ...] = ()  # inputs the builder renders even when empty

    @property
    def template(self) -> str:
        """The template of its builder fields (included from builder_node.html)."""
        return f"segments/conditions/{self.name}.html"

    def new(self) -> dict:
        return copy.deepcopy({"type": self.name, **self.empty})

    def validate(self, v, path: str, node: dict) -> None:
        raise NotImplementedError

    def fields_in(self, f, p: str) -> dict:
        """The condition the posted fields at prefix ``p`` describe."""
        raise NotImplementedError

    def fields_out(self, out, p: str, node: dict) -> None:
        """The form values that post ``node`` back, at prefix ``p``."""
        raise NotImplementedError

    def view(self, viewer, path: str, node: dict, own: dict) -> dict:
        """What the builder's template needs beyond the node's own inputs."""
        return {}

    def compile(self, c, node: dict) -> Q:
        raise NotImplementedError

    def describe(self, d, node: dict) -> str:
        raise NotImplementedError

    def explain(self, x, node: dict) -> str:
        """What the profile has that the condition looks at."""
        return ""


TYPES: dict[str, Condition] = {}


def register(cls: type[Condition]) -> type[Condition]:
    """Class decorator: ``TYPES[cls.name]`` is the type's one instance. TYPES is kept in
    ``order``, the order of the builder's list."""
    TYPES[cls.name] = cls()
    ordered = sorted(TYPES.values(), key=lambda kind: kind.order)
    TYPES.clear()
    TYPES.update((kind.name, kind) for kind in ordered)
    return cls
