"""The journey editor's entry conditions ⇄ a campaign's ``trigger_filters`` and
``entry_audience`` (campaigns/entry_conditions.py).

Inputs are named by the paths the validator's errors use:
``trigger_filters[i].property``, ``.op``, ``.value``; and for the audience
``entry_audience.mode`` (everyone | in_segment | not_in_segment | rule),
``entry_audience.segment_id`` and ``entry_audience.rule`` (a segment rule as JSON, for
any condition the segment builder knows). A value typed in a filter is a number when it
reads as one, ``true``/``false`` a boolean, else text; a rule that is not JSON stays
text, so that the validator names it and the input keeps what was typed.
"""

from __future__ import annotations

import json
import math
import re

from .. import entry_conditions
from ..step_types.base import Errors, number_or_text, posted, stripped

FILTER_NAME = re.compile(r"^trigger_filters\[(\d+)\]\.")
MODES = [
    ("everyone", "Everyone the trigger brings"),
    ("in_segment", "Only people in a segment"),
    ("not_in_segment", "Only people not in a segment"),
    ("rule", "Only people matching a rule (JSON)"),
]


def _value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    value = number_or_text(text) if text else None
    # "nan" and "inf" read as floats no comparison can use: kept as the text typed.
    return text if isinstance(value, float) and not math.isfinite(value) else value


def fields_to_filters(data) -> list[dict]:
    indexes = sorted({int(m.group(1)) for key in data if (m := FILTER_NAME.match(key))})
    filters = []
    for i in indexes:
        p = f"trigger_filters[{i}]"
        item = {"property": stripped(data.get(f"{p}.property")), "op": posted(data, f"{p}.op")}
        if item["op"] != "exists":
            item["value"] = _value(stripped(data.get(f"{p}.value")))
        filters.append(item)
    return filters


def _membership(segment_id, member: bool) -> dict:
    node = {"type": "segment", "segment_id": segment_id}
    if not member:
        node["member"] = False
    return {"version": 1, "root": {"type": "group", "match": "all", "children": [node]}}


def fields_to_audience(data):
    mode = posted(data, "entry_audience.mode")
    if mode in ("in_segment", "not_in_segment"):
        raw = stripped(data.get("entry_audience.segment_id"))
        segment_id = int(raw) if raw.isdigit() else raw
        return _membership(segment_id, mode == "in_segment")
    if mode == "rule":
        text = stripped(data.get("entry_audience.rule"))
        try:
            return json.loads(text) if text else {}
        except ValueError:
            return text
    return {}


def _segment_of(rule) -> tuple[str, str] | None:
    """(mode, segment id) when the rule is one membership condition, as the editor makes."""
    try:
        root = rule["root"]
        (node,) = root["children"]
        plain = rule.get("version", 1) == 1 and root.get("match") == "all"
        if plain and node["type"] == "segment" and set(node) <= {"type", "segment_id", "member"}:
            member = node.get("member", True)
            return ("in_segment" if member else "not_in_segment", str(node["segment_id"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    return None


def audience_fields(rule) -> dict[str, str]:
    if not rule:
        return {"mode": "everyone", "segment_id": "", "rule": ""}
    found = _segment_of(rule)
    if found:
        return {"mode": found[0], "segment_id": found[1], "rule": ""}
    text = rule if isinstance(rule, str) else json.dumps(rule, indent=2, ensure_ascii=False)
    return {"mode": "rule", "segment_id": "", "rule": text}


def apply_action(filters: list[dict], action: str) -> bool:
    """``add-filter`` or ``remove-filter:i``; True when it was one of them."""
    if action == "add-filter":
        filters.append({"property": "", "op": "=", "value": None})
        return True
    verb, _, index = action.partition(":")
    if verb == "remove-filter":
        if index.isdigit() and int(index) < len(filters):
            filters.pop(int(index))
        return True
    return False


def is_entry_error(error: dict) -> bool:
    field = error.get("field", "")
    return field.startswith("trigger_filters") or field.startswith("entry_audience")


def check(filters: list[dict], audience) -> list[dict]:
    """The entry conditions' own problems (those that depend on the trigger's kind are
    the campaign services')."""
    return entry_conditions.filter_errors(filters) + entry_conditions.audience_errors(audience)


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def entry_view(filters: list[dict], audience, errors: list[dict] | None = None) -> dict:
    """What the editor's entry-conditions fieldset shows, with each error at its input."""
    errs = Errors([e for e in errors or [] if is_entry_error(e)])
    count = errs.count
    rows = []
    for i, item in enumerate(filters):
        p = f"trigger_filters[{i}]"
        item = item if isinstance(item, dict) else {}
        rows.append(
            {
                "index": i,
                "property": errs.field(f"{p}.property", _shown(item.get("property"))),
                "op": errs.field(f"{p}.op", _shown(item.get("op"))),
                "value": errs.field(f"{p}.value", _shown(item.get("value"))),
                "errors": errs.take(p),
            }
        )
    shown = audience_fields(audience)
    return {
        "filters": rows,
        "filter_errors": errs.take("trigger_filters"),
        "ops": [(op, entry_conditions.OP_LABELS[op]) for op in entry_conditions.OPS],
        "modes": MODES,
        "mode": shown["mode"],
        "segment_id": shown["segment_id"],
        "rule": errs.field("entry_audience.rule", shown["rule"]),
        "audience_errors": [m for _, m in errs.take_prefix("entry_audience")],
        "count": count,
    }
