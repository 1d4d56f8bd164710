"""The visual builder's form fields ⇄ a rule (segments/grammar.py).

Every input is named by the rule path it fills, as the grammar's errors name it:
``root.children[2].count.value``. A node exists when its ``<path>.type`` is posted;
a group's children are the ``<path>.children[i]`` posted, in index order (a gap left
by a removed node is fine). Inputs that have no single place in the rule:

    <p>.value2              the upper bound of "between"
    <p>.value               the comma-separated list of "in"
    <p>.did                 "did" | "did_not"
    <p>.member              "yes" | "no"
    <p>.window.kind         "ever" | "last" | "range"

What is typed is kept as typed when it does not parse (a count of "abc" stays "abc"),
so that the grammar names the problem and the page shows the input unchanged.
"""

from __future__ import annotations

import re

from .. import grammar
from ..conditions import TYPES

# Each condition type's fields are read and written by its class (segments/conditions/).
CONDITION_TYPES = [(name, kind.label) for name, kind in TYPES.items()]
TYPE_LABELS = dict(CONDITION_TYPES) | {"group": "Group"}

OPS = [
    (
        "Text",
        [
            ("equals", "equals"),
            ("not_equals", "does not equal"),
            ("contains", "contains"),
            ("starts_with", "starts with"),
            ("in", "is one of"),
        ],
    ),
    ("Number", [("eq", "="), ("lt", "<"), ("gt", ">"), ("between", "between")]),
    (
        "Date",
        [("before", "before"), ("after", "after"), ("within_last_days", "within the last … days")],
    ),
    ("Yes / no", [("is_true", "is true"), ("is_false", "is false")]),
    ("Presence", [("is_set", "is set"), ("is_not_set", "is not set")]),
]
DEFAULT_OP = {"text": "equals", "number": "eq", "boolean": "is_true"}
COUNT_OPS = [
    ("", "at least once"),
    ("at_least", "at least"),
    ("at_most", "at most"),
    ("exactly", "exactly"),
]


def empty_condition(kind: str) -> dict:
    """A new condition of ``kind``, as added by the builder (not yet valid)."""
    if kind == "group":
        return {"type": "group", "match": "all", "children": [empty_condition("trait")]}
    return TYPES.get(kind, TYPES["trait"]).new()


def empty_rule() -> dict:
    return {"version": 1, "root": {"type": "group", "match": "all", "children": []}}


# Parsing typed values -------------------------------------------------------------------


def _whole(text: str):
    text = (text or "").strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return text or None


def _number(text: str):
    text = (text or "").strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text or None
    return number if number == number and abs(number) != float("inf") else text


def _show(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Fields → rule ------------------------------------------------------------------------


class Fields:
    """Read access to posted fields (a QueryDict or a plain dict of str / list)."""

    def __init__(self, data):
        self.data = data
        self.keys = list(data.keys())

    def get(self, name: str, default: str = "") -> str:
        value = self.data.get(name, default)
        if isinstance(value, list):
            value = value[-1] if value else default
        return value if isinstance(value, str) else _show(value)

    def getlist(self, name: str) -> list[str]:
        if hasattr(self.data, "getlist"):
            return self.data.getlist(name)
        value = self.data.get(name, [])
        return list(value) if isinstance(value, list | tuple) else [value]

    def indexed(self, prefix: str, suffix: str) -> list[int]:
        pattern = re.compile(re.escape(prefix) + r"\[(\d+)\]" + re.escape(suffix) + "$")
        found = {int(m.group(1)) for key in self.keys if (m := pattern.match(key))}
        return sorted(found)

    # The pieces condition types share ------------------------------------------------

    def whole(self, name: str):
        """The field as a whole number, or as typed when it is none."""
        return _whole(self.get(name))

    def comparison(self, p: str) -> dict:
        op = self.get(f"{p}.op")
        value = self.get(f"{p}.value")
        if op in grammar.PRESENCE_OPS | grammar.BOOLEAN_OPS:
            return {"op": op}
        if op == "in":
            return {"op": op, "values": [v.strip() for v in value.split(",") if v.strip()]}
        if op == "between":
            return {"op": op, "values": [_number(value), _number(self.get(f"{p}.value2"))]}
        if op in ("eq", "lt", "gt"):
            return {"op": op, "value": _number(value)}
        if op == "within_last_days":
            return {"op": op, "value": _whole(value)}
        return {"op": op, "value": value.strip()}

    def where(self, p: str) -> list[dict]:
        return [
            {
                "property": self.get(f"{p}.where[{i}].property").strip(),
                **self.comparison(f"{p}.where[{i}]"),
            }
            for i in self.indexed(f"{p}.where", ".property")
        ]

    def window(self, p: str):
        kind = self.get(f"{p}.window.kind", "ever")
        if kind == "last":
            return {"last_days": self.whole(f"{p}.window.last_days")}
        if kind == "range":
            return {
                "from": self.get(f"{p}.window.from").strip(),
                "to": self.get(f"{p}.window.to").strip(),
            }
        return None


def fields_to_rule(data) -> dict:
    """The rule the posted fields describe (valid or not: validate it afterwards)."""
    fields = Fields(data)
    root = _node(fields, "root") if fields.get("root.type") else empty_rule()["root"]
    if root.get("type") != "group":
        root = {"type": "group", "match": "all", "children": [root]}
    return {"version": 1, "root": root}


def _node(f: Fields, p: str) -> dict:
    """The node at prefix ``p``: a group, or a condition read by its type."""
    kind = f.get(f"{p}.type")
    if kind == "group":
        children = [_node(f, f"{p}.children[{i}]") for i in f.indexed(f"{p}.children", ".type")]
        return {"type": "group", "match": f.get(f"{p}.match", "all"), "children": children}
    condition = TYPES.get(kind)
    return condition.fields_in(f, p) if condition else {"type": kind}  # the grammar says so


# Rule → fields ------------------------------------------------------------------------


class Out(dict):
    """Form values being written (input name -> value), with the pieces condition types
    share."""

    show = staticmethod(_show)

    def comparison(self, p: str, node: dict) -> None:
        op = node.get("op", "")
        self[f"{p}.op"] = op
        values = node.get("values")
        if op == "in" and isinstance(values, list):
            self[f"{p}.value"] = ", ".join(_show(v) for v in values)
        elif op == "between" and isinstance(values, list):
            self[f"{p}.value"] = _show(values[0] if values else None)
            self[f"{p}.value2"] = _show(values[1] if len(values) > 1 else None)
        else:
            self[f"{p}.value"] = _show(node.get("value"))

    def where(self, p: str, where) -> None:
        for i, item in enumerate(where or ()):
            self[f"{p}.where[{i}].property"] = _show(item.get("property"))
            self.comparison(f"{p}.where[{i}]", item)

    def window(self, p: str, window) -> None:
        window = window or {}
        if "last_days" in window:
            self[f"{p}.window.kind"] = "last"
            self[f"{p}.window.last_days"] = _show(window["last_days"])
        elif "from" in window or "to" in window:
            self[f"{p}.window.kind"] = "range"
            self[f"{p}.window.from"] = _show(window.get("from"))
            self[f"{p}.window.to"] = _show(window.get("to"))
        else:
            self[f"{p}.window.kind"] = "ever"


def rule_to_fields(rule: dict) -> dict[str, str | list[str]]:
    """The fields that post ``rule`` back (fields_to_rule(rule_to_fields(r)) == r for a
    rule in the builder's canonical shape)."""
    out = Out()
    root = (rule or {}).get("root") or empty_rule()["root"]
    emit(out, "root", root)
    return dict(out)


def emit(out: Out, p: str, node: dict) -> None:
    """Writes the form values of ``node`` (a group, or a condition by its type)."""
    kind = node.get("type", "")
    out[f"{p}.type"] = kind
    if kind == "group":
        out[f"{p}.match"] = node.get("match", "all")
        for i, child in enumerate(node.get("children") or ()):
            emit(out, f"{p}.children[{i}]", child)
    elif condition := TYPES.get(kind) if isinstance(kind, str) else None:
        condition.fields_out(out, p, node)


# Actions: add and remove conditions, groups and property filters ------------------------

_STEP = re.compile(r"\.(\w+)(?:\[(\d+)\])?")


def _locate(rule: dict, path: str):
    """(container, key) such that container[key] is the thing at ``path``."""
    if not path.startswith("root"):
        raise KeyError(path)
    container, key = rule, "root"
    for name, index in _STEP.findall(path[4:]):
        container, key = container[key], name
        if index:
            container, key = container[key], int(index)
    return container, key


def apply_action(rule: dict, action: str, *, add_type: str = "trait") -> str | None:
    """Applies ``add:<group>``, ``add-group:<group>``, ``add-filter:<event or step>`` or
    ``remove:<path>`` to ``rule`` in place; returns the path to focus afterwards."""
    verb, _, path = action.partition(":")
    try:
        container, key = _locate(rule, path)
        target = container[key]
    except (KeyError, IndexError, TypeError):
        return None
    if verb in ("add", "add-group") and isinstance(target, dict):
        kind = "group" if verb == "add-group" else add_type
        if kind not in TYPE_LABELS:
            kind = "trait"
        children = target.setdefault("children", [])
        children.append(empty_condition(kind))
        return f"{path}.children[{len(children) - 1}]"
    if verb == "add-filter" and isinstance(target, dict):
        where = target.setdefault("where", [])
        where.append({"property": "", "op": "equals", "value": ""})
        return f"{path}.where[{len(where) - 1}]"
    if verb == "remove" and isinstance(container, list):
        del container[key]
        parent = path.rsplit(".", 1)[0]
        if not container and parent != path:
            # The last property filter goes with its list.
            holder, name = _locate(rule, parent)
            if isinstance(holder[name], dict) and path.endswith("]") and ".where[" in path:
                holder[name].pop("where", None)
        return parent
    return None
