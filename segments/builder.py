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

from . import grammar

CONDITION_TYPES = [
    ("trait", "Trait"),
    ("computed", "Computed trait"),
    ("event", "Event"),
    ("sequence", "Event sequence"),
    ("stage", "Journey stage"),
    ("segment", "Segment membership"),
    ("consent", "Consent"),
    ("identifier", "Identifier present"),
    ("source", "Source"),
    ("party", "Data party"),
]
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
    return {
        "trait": {"type": "trait", "key": "", "op": "equals", "value": ""},
        "computed": {"type": "computed", "key": "", "op": "gt", "value": ""},
        "event": {"type": "event", "name": ""},
        "sequence": {
            "type": "sequence",
            "first": {"name": ""},
            "then": {"name": ""},
            "within_days": 7,
        },
        "stage": {"type": "stage", "in": []},
        "segment": {"type": "segment", "segment_id": ""},
        "consent": {"type": "consent", "purpose": "", "status": "granted"},
        "identifier": {"type": "identifier", "kind": ""},
        "source": {"type": "source", "source_id": ""},
        "party": {"type": "party", "party": "first"},
    }.get(kind, {"type": "trait", "key": "", "op": "equals", "value": ""})


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


def fields_to_rule(data) -> dict:
    """The rule the posted fields describe (valid or not: validate it afterwards)."""
    fields = Fields(data)
    root = _node(fields, "root") if fields.get("root.type") else empty_rule()["root"]
    if root.get("type") != "group":
        root = {"type": "group", "match": "all", "children": [root]}
    return {"version": 1, "root": root}


def _node(f: Fields, p: str) -> dict:
    """The condition at prefix ``p``, read by its type's reader (``f_<type>`` below)."""
    kind = f.get(f"{p}.type")
    read = READERS.get(kind)
    return read(f, p) if read else {"type": kind}  # unknown: the grammar says so


def f_group(f: Fields, p: str) -> dict:
    children = [_node(f, f"{p}.children[{i}]") for i in f.indexed(f"{p}.children", ".type")]
    return {"type": "group", "match": f.get(f"{p}.match", "all"), "children": children}


def f_trait(f: Fields, p: str) -> dict:
    return {"type": f.get(f"{p}.type"), "key": f.get(f"{p}.key").strip(), **_comparison(f, p)}


def f_event(f: Fields, p: str) -> dict:
    node = {"type": "event", "name": f.get(f"{p}.name").strip()}
    if f.get(f"{p}.did") == "did_not":
        node["did"] = False
    if where := _where(f, p):
        node["where"] = where
    if count_op := f.get(f"{p}.count.op"):
        node["count"] = {"op": count_op, "value": _whole(f.get(f"{p}.count.value"))}
    if (window := _window(f, p)) is not None:
        node["window"] = window
    return node


def f_sequence(f: Fields, p: str) -> dict:
    node = {"type": "sequence"}
    for step in ("first", "then"):
        part = {"name": f.get(f"{p}.{step}.name").strip()}
        if where := _where(f, f"{p}.{step}"):
            part["where"] = where
        node[step] = part
    node["within_days"] = _whole(f.get(f"{p}.within_days"))
    if (window := _window(f, p)) is not None:
        node["window"] = window
    return node


def f_stage(f: Fields, p: str) -> dict:
    return {"type": "stage", "in": [s for s in f.getlist(f"{p}.in") if s]}


def f_segment(f: Fields, p: str) -> dict:
    node = {"type": "segment", "segment_id": _whole(f.get(f"{p}.segment_id"))}
    if f.get(f"{p}.member") == "no":
        node["member"] = False
    return node


def f_consent(f: Fields, p: str) -> dict:
    purpose = f.get(f"{p}.purpose").strip()
    return {"type": "consent", "purpose": purpose, "status": f.get(f"{p}.status", "granted")}


def f_identifier(f: Fields, p: str) -> dict:
    return {"type": "identifier", "kind": f.get(f"{p}.kind").strip()}


def f_source(f: Fields, p: str) -> dict:
    return {"type": "source", "source_id": _whole(f.get(f"{p}.source_id"))}


def f_party(f: Fields, p: str) -> dict:
    return {"type": "party", "party": f.get(f"{p}.party")}


READERS = {
    "group": f_group,
    "trait": f_trait,
    "computed": f_trait,  # a computed trait is compared like a trait
    "event": f_event,
    "sequence": f_sequence,
    "stage": f_stage,
    "segment": f_segment,
    "consent": f_consent,
    "identifier": f_identifier,
    "source": f_source,
    "party": f_party,
}


def _comparison(f: Fields, p: str) -> dict:
    op = f.get(f"{p}.op")
    value = f.get(f"{p}.value")
    if op in grammar.PRESENCE_OPS | grammar.BOOLEAN_OPS:
        return {"op": op}
    if op == "in":
        return {"op": op, "values": [v.strip() for v in value.split(",") if v.strip()]}
    if op == "between":
        return {"op": op, "values": [_number(value), _number(f.get(f"{p}.value2"))]}
    if op in ("eq", "lt", "gt"):
        return {"op": op, "value": _number(value)}
    if op == "within_last_days":
        return {"op": op, "value": _whole(value)}
    return {"op": op, "value": value.strip()}


def _where(f: Fields, p: str) -> list[dict]:
    return [
        {"property": f.get(f"{p}.where[{i}].property").strip(), **_comparison(f, f"{p}.where[{i}]")}
        for i in f.indexed(f"{p}.where", ".property")
    ]


def _window(f: Fields, p: str):
    kind = f.get(f"{p}.window.kind", "ever")
    if kind == "last":
        return {"last_days": _whole(f.get(f"{p}.window.last_days"))}
    if kind == "range":
        return {"from": f.get(f"{p}.window.from").strip(), "to": f.get(f"{p}.window.to").strip()}
    return None


# Rule → fields ------------------------------------------------------------------------


def rule_to_fields(rule: dict) -> dict[str, str | list[str]]:
    """The fields that post ``rule`` back (fields_to_rule(rule_to_fields(r)) == r for a
    rule in the builder's canonical shape)."""
    out: dict[str, str | list[str]] = {}
    root = (rule or {}).get("root") or empty_rule()["root"]
    _emit(out, "root", root)
    return out


def _emit(out: dict, p: str, node: dict) -> None:
    kind = node.get("type", "")
    out[f"{p}.type"] = kind
    if kind == "group":
        out[f"{p}.match"] = node.get("match", "all")
        for i, child in enumerate(node.get("children") or ()):
            _emit(out, f"{p}.children[{i}]", child)
    elif kind in ("trait", "computed"):
        out[f"{p}.key"] = _show(node.get("key"))
        _emit_comparison(out, p, node)
    elif kind == "event":
        out[f"{p}.name"] = _show(node.get("name"))
        out[f"{p}.did"] = "did" if node.get("did", True) else "did_not"
        _emit_where(out, p, node.get("where"))
        count = node.get("count") or {}
        out[f"{p}.count.op"] = _show(count.get("op"))
        out[f"{p}.count.value"] = _show(count.get("value"))
        _emit_window(out, p, node.get("window"))
    elif kind == "sequence":
        for step in ("first", "then"):
            part = node.get(step) or {}
            out[f"{p}.{step}.name"] = _show(part.get("name"))
            _emit_where(out, f"{p}.{step}", part.get("where"))
        out[f"{p}.within_days"] = _show(node.get("within_days"))
        _emit_window(out, p, node.get("window"))
    elif kind == "stage":
        out[f"{p}.in"] = [s for s in node.get("in") or () if isinstance(s, str)]
    elif kind == "segment":
        out[f"{p}.segment_id"] = _show(node.get("segment_id"))
        out[f"{p}.member"] = "yes" if node.get("member", True) else "no"
    elif kind == "consent":
        out[f"{p}.purpose"] = _show(node.get("purpose"))
        out[f"{p}.status"] = _show(node.get("status", "granted"))
    elif kind == "identifier":
        out[f"{p}.kind"] = _show(node.get("kind"))
    elif kind == "source":
        out[f"{p}.source_id"] = _show(node.get("source_id"))
    elif kind == "party":
        out[f"{p}.party"] = _show(node.get("party"))


def _emit_comparison(out: dict, p: str, node: dict) -> None:
    op = node.get("op", "")
    out[f"{p}.op"] = op
    values = node.get("values")
    if op == "in" and isinstance(values, list):
        out[f"{p}.value"] = ", ".join(_show(v) for v in values)
    elif op == "between" and isinstance(values, list):
        out[f"{p}.value"] = _show(values[0] if values else None)
        out[f"{p}.value2"] = _show(values[1] if len(values) > 1 else None)
    else:
        out[f"{p}.value"] = _show(node.get("value"))


def _emit_where(out: dict, p: str, where) -> None:
    for i, item in enumerate(where or ()):
        out[f"{p}.where[{i}].property"] = _show(item.get("property"))
        _emit_comparison(out, f"{p}.where[{i}]", item)


def _emit_window(out: dict, p: str, window) -> None:
    window = window or {}
    if "last_days" in window:
        out[f"{p}.window.kind"] = "last"
        out[f"{p}.window.last_days"] = _show(window["last_days"])
    elif "from" in window or "to" in window:
        out[f"{p}.window.kind"] = "range"
        out[f"{p}.window.from"] = _show(window.get("from"))
        out[f"{p}.window.to"] = _show(window.get("to"))
    else:
        out[f"{p}.window.kind"] = "ever"


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
