"""The builder's view: errors from the grammar placed next to their inputs, and the tree
of nodes with their inputs (name, id, value, errors) that the templates render. The
form fields ⇄ rule half is segments/builder.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import grammar
from .builder import TYPE_LABELS, _emit, _emit_comparison, _show, empty_rule, rule_to_fields

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
    return _view_node(tree, "root", root, focus, depth=1)


def _view_node(tree: Tree, path: str, node: dict, focus, depth: int) -> dict:
    out: dict = {}
    _emit(out, path, node)
    own = _own_fields(out, path)
    kind = node.get("type", "")
    extra = ("value2",) if kind in ("trait", "computed") else ()
    item = {
        "path": path,
        "id": dom_id(path),
        "type": kind,
        "label": TYPE_LABELS.get(kind, kind),
        "errors": tree.at.get(path, []),
        "focus": focus == path,
        "depth": depth,
        "f": _inputs(tree, path, own, extra),
    }
    if kind == "group":
        item["children"] = [
            _view_node(tree, f"{path}.children[{i}]", child, focus, depth + 1)
            for i, child in enumerate(node.get("children") or ())
            if isinstance(child, dict)
        ]
        item["children_errors"] = tree.at.get(f"{path}.children", [])
    elif kind in ("trait", "computed"):
        item["value_kind"] = op_kind(node.get("op", ""))
    elif kind == "event":
        item["filters"] = _view_filters(tree, path, node.get("where"), focus)
    elif kind == "sequence":
        item["steps"] = [
            {
                "path": f"{path}.{step}",
                "label": "First" if step == "first" else "Then",
                "name": Input(
                    f"{path}.{step}.name",
                    own[f"{step}_name"][1],
                    tree.at.get(f"{path}.{step}.name", []),
                ),
                "filters": _view_filters(
                    tree, f"{path}.{step}", (node.get(step) or {}).get("where"), focus
                ),
            }
            for step in ("first", "then")
        ]
    return item


def _view_filters(tree: Tree, path: str, where, focus) -> list[dict]:
    filters = []
    for i, item in enumerate(where or ()):
        here = f"{path}.where[{i}]"
        out: dict = {}
        _emit_comparison(out, here, item)
        out[f"{here}.property"] = _show(item.get("property"))
        own = _own_fields(out, here)
        filters.append(
            {
                "path": here,
                "id": dom_id(here),
                "errors": tree.at.get(here, []),
                "focus": focus == here,
                "f": _inputs(tree, here, own, ("value2",)),
                "value_kind": op_kind(item.get("op", "")),
            }
        )
    return filters
