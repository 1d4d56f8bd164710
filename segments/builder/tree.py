"""The builder's tree: errors from the grammar placed next to their inputs, and the tree
of nodes with their inputs (name, id, value, errors) that the templates render. The
form fields ⇄ rule half is fields.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import grammar
from ..conditions import TYPES
from .fields import TYPE_LABELS, Out, emit, empty_rule, rule_to_fields

# Errors next to their inputs and the tree the templates render --------------------------


def anchor(field: str) -> str:
    """The input an error from the grammar belongs next to."""
    field = re.sub(r"\.values(\[\d+\])?$", ".value", field)
    field = re.sub(r"\.window\.last_days$", ".window", field)
    field = re.sub(r"\.(first|then)$", r".\1.name", field)
    field = re.sub(r"(\.where\[\d+\])$", r"\1.property", field)
    return field


@dataclass
class Tree:
    """The rule with its errors placed: ``at[input path]`` lists the messages for that
    input; ``general`` those with no input (e.g. a cycle between segments)."""

    rule: dict
    at: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, rule: dict, errors: list[dict] | None = None) -> Tree:
        tree = cls(rule=rule)
        names = _input_names(rule)
        for error in errors or ():
            where = anchor(error.get("field", ""))
            if where in names:
                tree.at.setdefault(where, []).append(error["message"])
                continue
            # An unknown field or a node-level problem: shown on the nearest node.
            node = where
            while node and node not in names:
                node = node.rsplit(".", 1)[0] if "." in node else ""
            if node:
                tree.at.setdefault(node, []).append(error["message"])
            else:
                tree.general.append(error["message"])
        return tree

    @property
    def count(self) -> int:
        return sum(len(m) for m in self.at.values()) + len(self.general)


def _input_names(rule: dict) -> set[str]:
    """Every path an error can be shown at: the inputs, the nodes and time windows."""
    names = set()
    for key in rule_to_fields(rule):
        names.add(key)
        if key.endswith(".type"):
            names.add(key[: -len(".type")])
        elif key.endswith(".window.kind"):
            names.add(key[: -len(".kind")])
    return names


def op_kind(op: str) -> str:
    """How a comparison's value is typed: none, list, range, days, date, number, text."""
    if op in grammar.PRESENCE_OPS | grammar.BOOLEAN_OPS:
        return "none"
    if op == "in":
        return "list"
    if op == "between":
        return "range"
    if op == "within_last_days":
        return "days"
    if op in ("before", "after"):
        return "date"
    if op in ("eq", "lt", "gt"):
        return "number"
    return "text"


def dom_id(path: str) -> str:
    """An element id for an input path (letters, digits and dashes)."""
    return "b-" + re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")


# The view of the tree: each node with its inputs (name, id, value, errors) ---------------


@dataclass
class Input:
    name: str
    value: str | list
    errors: list[str]

    @property
    def id(self) -> str:
        return dom_id(self.name)

    @property
    def error_id(self) -> str:
        return self.id + "-error"


def _own_fields(out: dict, path: str) -> dict[str, tuple[str, str | list]]:
    """The fields of the node at ``path`` itself (not its children's or filters'), keyed
    for templates (``count.op`` → ``count_op``): (the field's name in the rule, value)."""
    own = {}
    for key, value in out.items():
        rest = key[len(path) + 1 :] if key.startswith(path + ".") else None
        if rest is None or "children[" in rest or "where[" in rest:
            continue
        own[rest.replace(".", "_")] = (rest, value)
    return own


def _inputs(tree: Tree, path: str, own: dict, extra=()) -> dict[str, Input]:
    inputs = {}
    for key, (rest, value) in own.items():
        errors = tree.at.get(f"{path}.{rest}", [])
        if rest == "window.kind":
            errors = tree.at.get(f"{path}.window", [])
        inputs[key] = Input(f"{path}.{rest}", value, errors)
    for name in extra:
        inputs.setdefault(name, Input(f"{path}.{name}", "", []))
    return inputs


def view(tree: Tree, *, focus: str | None = None) -> dict:
    root = tree.rule.get("root") or empty_rule()["root"]
    return Viewer(tree, focus).node("root", root, depth=1)


class Viewer:
    """Builds the nodes the templates render; a condition type adds what its template
    needs beyond its own inputs (``view``), with ``input``, ``filters`` and ``op_kind``."""

    op_kind = staticmethod(op_kind)

    def __init__(self, tree: Tree, focus: str | None):
        self.tree = tree
        self.focus = focus

    def input(self, name: str, value) -> Input:
        return Input(name, value, self.tree.at.get(name, []))

    def node(self, path: str, node: dict, *, depth: int) -> dict:
        tree, focus = self.tree, self.focus
        out = Out()
        emit(out, path, node)
        own = _own_fields(out, path)
        kind = node.get("type", "")
        condition = TYPES.get(kind) if isinstance(kind, str) else None
        extra = condition.extra_inputs if condition else ()
        item = {
            "path": path,
            "id": dom_id(path),
            "type": kind,
            "label": TYPE_LABELS.get(kind, kind),
            "errors": tree.at.get(path, []),
            "focus": focus == path,
            "depth": depth,
            "f": _inputs(tree, path, own, extra),
            "template": condition.template if condition else "",
        }
        if kind == "group":
            item["children"] = [
                self.node(f"{path}.children[{i}]", child, depth=depth + 1)
                for i, child in enumerate(node.get("children") or ())
                if isinstance(child, dict)
            ]
            item["children_errors"] = tree.at.get(f"{path}.children", [])
        elif condition:
            item.update(condition.view(self, path, node, own))
        return item

    def filters(self, path: str, where) -> list[dict]:
        """The property filters of an event (or a sequence step) at ``path``."""
        filters = []
        for i, item in enumerate(where or ()):
            here = f"{path}.where[{i}]"
            out = Out()
            out.comparison(here, item)
            out[f"{here}.property"] = out.show(item.get("property"))
            own = _own_fields(out, here)
            filters.append(
                {
                    "path": here,
                    "id": dom_id(here),
                    "errors": self.tree.at.get(here, []),
                    "focus": self.focus == here,
                    "f": _inputs(self.tree, here, own, ("value2",)),
                    "value_kind": op_kind(item.get("op", "")),
                }
            )
        return filters
