"""The ``branch`` step: yes or no on a condition, a segments rule node or an event since
the person entered the journey."""

from __future__ import annotations

import json

from profiles.models import ProfileEvent
from segments import grammar as segment_grammar
from segments.compiler import Compiler, active_profiles

from .. import moves
from ..models import Enrollment
from .base import StepType, int_or_text, link, number_or_text, posted, register, stripped, text_of

CONDITION_TYPES = [
    ("segment", "In a segment"),
    ("trait", "Trait"),
    ("computed", "Computed trait"),
    ("event_since_entry", "Did an event since entering"),
    ("custom", "Other rule (JSON)"),
]
CONDITION_OPS = [
    ("equals", "equals"),
    ("not_equals", "does not equal"),
    ("contains", "contains"),
    ("starts_with", "starts with"),
    ("in", "is one of (comma-separated)"),
    ("is_set", "is set"),
    ("is_not_set", "is not set"),
    ("eq", "= (number)"),
    ("lt", "< (number)"),
    ("gt", "> (number)"),
    ("between", "between (low, high)"),
    ("before", "before (date)"),
    ("after", "after (date)"),
    ("within_last_days", "within the last N days"),
    ("is_true", "is true"),
    ("is_false", "is false"),
]


@register
class Branch(StepType):
    """{"id", "type": "branch", "condition": C, "yes": id, "no": id}. C: a segments rule
    node (segments/grammar.py), e.g. a segment membership or a trait condition, or
    {"type": "event_since_entry", "name": E}.

    Editor fields: ``cond_type`` (one of CONDITION_TYPES) and ``condition.segment_id``,
    ``.member`` ("1" | "0"), ``.key``, ``.op``, ``.value``, ``.name``, or
    ``condition_json`` (any other rule node, as JSON)."""

    name, label = "branch", "Branch (yes / no)"
    fields = frozenset({"condition", "yes", "no"})
    defaults = {"condition": {"type": "event_since_entry", "name": ""}}
    single_next = False
    condition_types = CONDITION_TYPES
    condition_ops = CONDITION_OPS

    def links(self, step):
        return [("yes", step.get("yes")), ("no", step.get("no"))]

    def link_label(self, step, field):
        return field

    def check(self, path, step, errors):
        check_condition(f"{path}.condition", step.get("condition"), errors)

    def read_fields(self, data, p, step):
        step["condition"] = read_condition(data, p)
        link(data, f"{p}.yes", step, "yes")
        link(data, f"{p}.no", step, "no")

    def write_fields(self, step, p, data):
        data.update(condition_fields(p, step.get("condition")))
        data[f"{p}.yes"] = text_of(step.get("yes"))
        data[f"{p}.no"] = text_of(step.get("no"))

    def editor_parts(self, step, p, data, errs, fields):
        """Condition errors go next to their input when the condition has inputs (not
        the JSON one), else under the condition."""
        condition_errors = []
        for path, message in errs.take_prefix(f"{p}.condition"):
            leaf = path.rsplit(".", 1)[-1].split("[")[0]
            target = fields.get(f"condition_{leaf}")
            if target is not None and fields.get("cond_type").value != "custom":
                target.errors.append(message)
            else:
                condition_errors.append(message)
        return {"condition_errors": condition_errors}

    def run(self, enrollment, step, *, now, rules):
        answer = "yes" if condition_holds(enrollment, step.get("condition") or {}, now) else "no"
        moves.log(enrollment, step["id"], answer, now)
        return step.get(answer)

    def describe(self, step):
        c = step.get("condition") or {}
        if c.get("type") == "event_since_entry":
            return f"did {c.get('name') or '?'} since entry"
        if c.get("type") == "segment":
            return "in segment" if c.get("member", True) else "not in segment"
        return c.get("key") or c.get("type") or "condition"


def condition_holds(enrollment: Enrollment, condition: dict, now) -> bool:
    if condition.get("type") == "event_since_entry":
        return ProfileEvent.objects.filter(
            profile_id=enrollment.profile_id,
            name=condition.get("name", ""),
            timestamp__gte=enrollment.entered_at,
        ).exists()

    profile = moves.current_profile(enrollment.profile_id)
    if profile is None:
        return False
    return (
        active_profiles().filter(pk=profile.pk).filter(Compiler(now=now).node(condition)).exists()
    )


def check_condition(path: str, condition, errors: list) -> None:
    if isinstance(condition, dict) and condition.get("type") == "event_since_entry":
        if not isinstance(condition.get("name"), str) or not condition["name"].strip():
            errors.append({"field": f"{path}.name", "message": "Choose an event."})
        return
    root = (
        condition
        if isinstance(condition, dict) and condition.get("type") == "group"
        else {"type": "group", "match": "all", "children": [condition]}
    )
    try:
        segment_grammar.validate({"version": 1, "root": root})
    except segment_grammar.RuleError as error:
        for item in error.errors:
            errors.append(
                {"field": item["field"].replace("root", path, 1), "message": item["message"]}
            )


def read_condition(data, p: str):
    ctype = posted(data, f"{p}.cond_type") or "segment"
    c = f"{p}.condition"
    if ctype == "segment":
        return {
            "type": "segment",
            "segment_id": int_or_text(data.get(f"{c}.segment_id")),
            "member": posted(data, f"{c}.member") != "0",
        }
    if ctype == "event_since_entry":
        return {"type": "event_since_entry", "name": stripped(data.get(f"{c}.name"))}
    if ctype in ("trait", "computed"):
        return _read_comparison(data, c, ctype)
    raw = posted(data, f"{p}.condition_json")
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # the validator says it is not a condition


def _read_comparison(data, c: str, ctype: str) -> dict:
    op = stripped(data.get(f"{c}.op")) or "equals"
    node = {"type": ctype, "key": stripped(data.get(f"{c}.key")), "op": op}
    raw = stripped(data.get(f"{c}.value"))
    if op in segment_grammar.PRESENCE_OPS | segment_grammar.BOOLEAN_OPS:
        return node
    if op == "in":
        node["values"] = [part.strip() for part in raw.split(",") if part.strip()]
    elif op == "between":
        node["values"] = [number_or_text(part.strip()) for part in raw.split(",") if part.strip()]
    elif op in segment_grammar.NUMBER_OPS:
        node["value"] = number_or_text(raw)
    elif op == "within_last_days":
        node["value"] = int_or_text(raw)
    else:
        node["value"] = raw
    return node


def condition_type(condition) -> str:
    """Which of CONDITION_TYPES' inputs can show ``condition`` ("custom": only JSON)."""
    if isinstance(condition, dict):
        kind = condition.get("type")
        if kind == "segment" and set(condition) <= {"type", "segment_id", "member"}:
            return "segment"
        if kind == "event_since_entry" and set(condition) <= {"type", "name"}:
            return "event_since_entry"
        if kind in ("trait", "computed") and set(condition) <= segment_grammar.FIELDS[kind]:
            values = condition.get("values")
            if values is None or (
                isinstance(values, list)
                and all(
                    isinstance(v, str | int | float)
                    and not isinstance(v, bool)
                    and "," not in str(v)
                    for v in values
                )
            ):
                return kind
    return "custom"


def condition_fields(p: str, condition) -> dict[str, str]:
    c = f"{p}.condition"
    ctype = condition_type(condition)
    data = {f"{p}.cond_type": ctype}
    if ctype == "segment":
        data[f"{c}.segment_id"] = text_of(condition.get("segment_id"))
        data[f"{c}.member"] = "0" if condition.get("member") is False else "1"
    elif ctype == "event_since_entry":
        data[f"{c}.name"] = text_of(condition.get("name"))
    elif ctype in ("trait", "computed"):
        data[f"{c}.key"] = text_of(condition.get("key"))
        data[f"{c}.op"] = text_of(condition.get("op"))
        if "values" in condition:
            data[f"{c}.value"] = ", ".join(str(v) for v in condition["values"])
        else:
            data[f"{c}.value"] = text_of(condition.get("value"))
    else:
        data[f"{p}.condition_json"] = json.dumps(condition, indent=1)
    return data
