"""The segment rule grammar (version 1), and its validation with messages a marketer
understands. Every error names the place it is at (``field``) as a path into the rule,
e.g. ``root.children[2].count.value``.

    {"version": 1, "root": GROUP}
    GROUP      {"type": "group", "match": "all" | "any" | "none", "children": [NODE, ...]}
    NODE       GROUP | one of the conditions below
    trait      {"type": "trait", "key": K, "op": OP, "value": V}      (also "computed")
    event      {"type": "event", "name": E, "did": true, "where": [PROP], "count": COUNT,
                "window": WINDOW}
    sequence   {"type": "sequence", "first": {"name": E, "where": [PROP]},
                "then": {"name": E, "where": [PROP]}, "within_days": N, "window": WINDOW}
    stage      {"type": "stage", "in": ["retention", ...]}
    segment    {"type": "segment", "segment_id": ID, "member": true}
    consent    {"type": "consent", "purpose": P, "status": "granted"}
    identifier {"type": "identifier", "kind": "email"}
    source     {"type": "source", "source_id": ID}  |  {"type": "party", "party": "first"}
    PROP       {"property": K, "op": OP, "value": V}
    COUNT      {"op": "at_least" | "at_most" | "exactly", "value": N}
    WINDOW     {"last_days": N} | {"from": "2026-01-01", "to": "2026-02-01"} | absent (ever)

OPs by value type: text equals / not_equals / contains / starts_with / in (``values``)
/ is_set / is_not_set; number eq / lt / gt / between (``values`` [low, high]); date
before / after (``value`` a date) / within_last_days (``value`` N); boolean is_true /
is_false.

Each condition type is checked by its own class in segments/conditions/, with the
shared pieces here (text, whole numbers, comparisons, windows, property filters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from cdp_site.field_errors import FieldErrors

from .conditions import TYPES

VERSION = 1
MAX_DEPTH = 10
MAX_NODES = 200
MAX_TEXT = 200
MAX_LIST = 500

TEXT_OPS = {"equals", "not_equals", "contains", "starts_with", "in"}
NUMBER_OPS = {"eq", "lt", "gt", "between"}
DATE_OPS = {"before", "after", "within_last_days"}
BOOLEAN_OPS = {"is_true", "is_false"}
PRESENCE_OPS = {"is_set", "is_not_set"}
VALUE_OPS = TEXT_OPS | NUMBER_OPS | DATE_OPS | BOOLEAN_OPS | PRESENCE_OPS

# The keys of each node, and what each condition reads in the words of the profiles'
# change signal (segments/conditions/: one module per condition type).
FIELDS = {"group": {"type", "match", "children"}} | {
    name: set(kind.fields) for name, kind in TYPES.items()
}
READS = {name: set(kind.reads) for name, kind in TYPES.items()}


class RuleError(FieldErrors):
    """What is wrong with a rule, each at its path (``root.children[2].count.value``)."""


@dataclass
class Summary:
    """What a valid rule reads: for real-time evaluation and the sliding pass."""

    depends_on: set[str] = field(default_factory=set)
    event_names: set[str] = field(default_factory=set)
    segment_ids: set[int] = field(default_factory=set)
    slides: bool = False


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    # 1e999 in the JSON arrives as inf: no stored value can be compared with it.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class Validator:
    def __init__(self):
        self.errors: list[dict] = []
        self.summary = Summary()
        self.nodes = 0

    def error(self, path: str, message: str) -> None:
        self.errors.append({"field": path, "message": message})

    def text(self, path: str, value, what: str) -> bool:
        if not isinstance(value, str) or not value.strip():
            self.error(path, f"Enter {what}.")
            return False
        if len(value) > MAX_TEXT:
            self.error(path, f"{what.capitalize()} is longer than {MAX_TEXT} characters.")
            return False
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            # NUL and lone surrogates cannot reach PostgreSQL: refused here, not with a 500.
            self.error(path, f"{what.capitalize()} contains a character that cannot be stored.")
            return False
        return True

    def whole(self, path: str, value, what: str, *, low: int = 0, high: int = 100_000) -> bool:
        if not _is_int(value) or not low <= value <= high:
            self.error(path, f"{what.capitalize()} must be a whole number from {low} to {high}.")
            return False
        return True

    def known_fields(self, path: str, node: dict, kind: str) -> None:
        for name in sorted(set(node) - FIELDS[kind]):
            self.error(f"{path}.{name}", f"“{name}” is not part of a {kind} condition.")

    # Nodes (each condition is checked by its type: segments/conditions/) ------------

    def node(self, path: str, node, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self.error(path, f"A segment has at most {MAX_NODES} conditions and groups.")
            return
        if not isinstance(node, dict):
            self.error(path, "Expected a condition or a group.")
            return
        kind = node.get("type")
        if kind not in FIELDS:
            self.error(f"{path}.type", "Choose what this condition is about.")
            return
        self.known_fields(path, node, kind)
        if kind == "group":
            self.group(path, node, depth)
            return
        self.summary.depends_on |= READS[kind]
        TYPES[kind].validate(self, path, node)

    def group(self, path: str, node: dict, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.error(path, f"Groups nest at most {MAX_DEPTH} levels deep.")
            return
        if node.get("match") not in ("all", "any", "none"):
            self.error(f"{path}.match", "Choose all, any or none.")
        children = node.get("children")
        if not isinstance(children, list) or not children:
            self.error(f"{path}.children", "A group needs at least one condition.")
            return
        for i, child in enumerate(children):
            self.node(f"{path}.children[{i}]", child, depth + 1)

    def comparison(self, path: str, node: dict) -> None:
        op, value, values = node.get("op"), node.get("value"), node.get("values")
        if op not in VALUE_OPS:
            self.error(f"{path}.op", "Choose how to compare.")
        elif op in PRESENCE_OPS | BOOLEAN_OPS:
            return
        elif op == "in":
            if not isinstance(values, list) or not values or len(values) > MAX_LIST:
                self.error(f"{path}.values", f"Enter between 1 and {MAX_LIST} values.")
            else:
                for i, item in enumerate(values):
                    self.text(f"{path}.values[{i}]", item, "a value")
        elif op == "between":
            if not (
                isinstance(values, list)
                and len(values) == 2
                and all(_is_number(v) for v in values)
                and values[0] <= values[1]
            ):
                self.error(f"{path}.values", "Enter two numbers, the lower one first.")
        elif op in NUMBER_OPS and not _is_number(value):
            self.error(f"{path}.value", "Enter a number.")
        elif op in ("before", "after") and not self.is_date(value):
            self.error(f"{path}.value", "Enter a date as YYYY-MM-DD.")
        elif op == "within_last_days":
            if self.whole(f"{path}.value", value, "the number of days", low=1, high=36_500):
                self.summary.slides = True
        elif op in TEXT_OPS:
            self.text(f"{path}.value", value, "a value")

    @staticmethod
    def is_date(value) -> bool:
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return False
        return True

    def window(self, path: str, window) -> None:
        if window is None:
            return
        if not isinstance(window, dict):
            self.error(path, "Choose a time window.")
        elif "last_days" in window:
            if set(window) != {"last_days"}:
                self.error(path, "A window is either the last N days or from/to dates.")
            elif self.whole(
                f"{path}.last_days", window["last_days"], "the number of days", low=1, high=36_500
            ):
                self.summary.slides = True
        elif set(window) == {"from", "to"}:
            ok = all(self.is_date(window[k]) for k in ("from", "to"))
            if not ok:
                self.error(path, "Enter both dates as YYYY-MM-DD.")
            elif window["from"] > window["to"]:
                self.error(path, "The window starts after it ends.")
        else:
            self.error(path, "A window is either the last N days or from/to dates.")

    def where(self, path: str, filters) -> None:
        if filters is None:
            return
        if not isinstance(filters, list) or len(filters) > 20:
            self.error(path, "Property filters are a list of at most 20.")
            return
        for i, item in enumerate(filters):
            here = f"{path}[{i}]"
            if not isinstance(item, dict):
                self.error(here, "Expected a property filter.")
                continue
            for name in sorted(set(item) - {"property", "op", "value", "values"}):
                self.error(f"{here}.{name}", f"“{name}” is not part of a property filter.")
            self.text(f"{here}.property", item.get("property"), "a property")
            self.comparison(here, item)


def validate(rule) -> Summary:
    """The rule's summary; raises RuleError listing every problem found."""
    v = Validator()
    if not isinstance(rule, dict):
        raise RuleError([{"field": "rule", "message": "A rule is a JSON object."}])
    for name in sorted(set(rule) - {"version", "root"}):
        v.error(name, f"“{name}” is not part of a rule.")
    if rule.get("version", VERSION) != VERSION:
        v.error("version", f"This server reads rule version {VERSION}.")
    root = rule.get("root")
    if not isinstance(root, dict) or root.get("type") != "group":
        v.error("root", "A rule starts with a group.")
    else:
        v.node("root", root, 1)
    if v.errors:
        raise RuleError(v.errors)
    return v.summary
