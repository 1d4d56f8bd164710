"""The journey editor's form fields ⇄ a campaign's ``steps`` (campaigns/steps.py).

Input names are the grammar's own paths, so that an error from ``steps.validate``
(``steps[2].timeout_minutes``) lands next to the input of the same name:

    steps[i].id, .type, .label                     every step
    steps[i].wait_mode ("minutes" | "until"), .minutes, .until
    steps[i].event, .timeout_minutes, .next, .timeout_next
    steps[i].yes, .no, and the branch condition:
      steps[i].cond_type ("segment" | "trait" | "computed" | "event_since_entry" | "custom")
      steps[i].condition.segment_id, .condition.member ("1" | "0")
      steps[i].condition.key, .condition.op, .condition.value
      steps[i].condition.name                      (event since entry)
      steps[i].condition_json                      (any other segment rule node, as JSON)
    steps[i].variants[j].name, .percent, .next, .holdout ("1")
    steps[i].template_id, .destination_id, .action
    steps[i].key, .value, .value_kind ("text" | "json")

Numbers that do not parse stay text, so the validator names them and the input keeps
what was typed. ``fields_to_steps(steps_to_fields(s)) == s`` for every valid journey.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from segments import grammar as segment_grammar

from . import steps as grammar

STEP_TYPES = [
    ("wait", "Wait"),
    ("wait_for_event", "Wait for an event"),
    ("branch", "Branch (yes / no)"),
    ("split", "Split test"),
    ("send_email", "Send an e-mail"),
    ("audience", "Ad audience: add or remove"),
    ("webhook", "Call a webhook"),
    ("esp_list", "E-mail platform list"),
    ("set_trait", "Set a trait"),
    ("exit", "Exit"),
]
TYPE_LABELS = dict(STEP_TYPES)
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
AUDIENCE_ACTIONS = [("add", "Add to the audience"), ("remove", "Remove from the audience")]
ESP_ACTIONS = [("subscribe", "Subscribe"), ("update", "Update"), ("unsubscribe", "Unsubscribe")]
SINGLE_NEXT = {"wait", "send_email", "audience", "webhook", "esp_list", "set_trait"}
STEP_NAME = re.compile(r"^steps\[(\d+)\]\.")


def _int(raw):
    """An int when the text is one, else the text as typed (None when empty)."""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d{1,19}", text):
        return int(text)
    return text


def _text(raw) -> str:
    return str(raw or "").strip()


def _number(text: str):
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


def _get(data, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else str(value)


def step_count(data) -> int:
    indexes = {int(m.group(1)) for key in data if (m := STEP_NAME.match(key))}
    return max(indexes) + 1 if indexes else 0


# Fields -> steps ------------------------------------------------------------------------


def fields_to_steps(data) -> list[dict]:
    """Rebuilds the journey from posted fields (a QueryDict or a plain dict)."""
    steps = []
    for i in range(step_count(data)):
        p = f"steps[{i}]"
        kind = _get(data, f"{p}.type")
        if not kind:
            continue
        step: dict = {"id": _get(data, f"{p}.id").strip(), "type": kind}
        label = _text(data.get(f"{p}.label"))
        if label:
            step["label"] = label
        _read_step(data, p, kind, step)
        steps.append(step)
    return steps


def _link(data, name: str, step: dict, key: str) -> None:
    target = _text(data.get(name))
    if target:
        step[key] = target


def _read_step(data, p: str, kind: str, step: dict) -> None:
    if kind == "wait":
        if _get(data, f"{p}.wait_mode") == "until":
            step["until"] = _text(data.get(f"{p}.until"))
        else:
            step["minutes"] = _int(data.get(f"{p}.minutes"))
    elif kind == "wait_for_event":
        step["event"] = _text(data.get(f"{p}.event"))
        step["timeout_minutes"] = _int(data.get(f"{p}.timeout_minutes"))
    elif kind == "branch":
        step["condition"] = _read_condition(data, p)
        _link(data, f"{p}.yes", step, "yes")
        _link(data, f"{p}.no", step, "no")
        return
    elif kind == "split":
        step["variants"] = _read_variants(data, p)
        return
    elif kind in ("send_email", "audience", "webhook", "esp_list"):
        if kind == "send_email":
            step["template_id"] = _int(data.get(f"{p}.template_id"))
        step["destination_id"] = _int(data.get(f"{p}.destination_id"))
        if kind in ("audience", "esp_list"):
            step["action"] = _text(data.get(f"{p}.action"))
    elif kind == "set_trait":
        step["key"] = _text(data.get(f"{p}.key"))
        raw = _get(data, f"{p}.value")
        if _get(data, f"{p}.value_kind") == "json":
            try:
                step["value"] = json.loads(raw)
            except ValueError:
                step["value"] = raw
        else:
            step["value"] = raw
    if kind == "exit":
        return
    _link(data, f"{p}.next", step, "next")
    if kind == "wait_for_event":
        _link(data, f"{p}.timeout_next", step, "timeout_next")


def _read_variants(data, p: str) -> list[dict]:
    indexes = set()
    prefix = re.compile(re.escape(p) + r"\.variants\[(\d+)\]\.")
    for key in data:
        if m := prefix.match(key):
            indexes.add(int(m.group(1)))
    variants = []
    for j in sorted(indexes):
        v = f"{p}.variants[{j}]"
        variant = {"name": _text(data.get(f"{v}.name")), "percent": _int(data.get(f"{v}.percent"))}
        if _get(data, f"{v}.holdout") == "1":
            variant["holdout"] = True
        else:
            _link(data, f"{v}.next", variant, "next")
        variants.append(variant)
    return variants


def _read_condition(data, p: str):
    ctype = _get(data, f"{p}.cond_type") or "segment"
    c = f"{p}.condition"
    if ctype == "segment":
        return {
            "type": "segment",
            "segment_id": _int(data.get(f"{c}.segment_id")),
            "member": _get(data, f"{c}.member") != "0",
        }
    if ctype == "event_since_entry":
        return {"type": "event_since_entry", "name": _text(data.get(f"{c}.name"))}
    if ctype in ("trait", "computed"):
        op = _text(data.get(f"{c}.op")) or "equals"
        node = {"type": ctype, "key": _text(data.get(f"{c}.key")), "op": op}
        raw = _text(data.get(f"{c}.value"))
        if op in segment_grammar.PRESENCE_OPS | segment_grammar.BOOLEAN_OPS:
            return node
        if op == "in":
            node["values"] = [part.strip() for part in raw.split(",") if part.strip()]
        elif op == "between":
            node["values"] = [_number(part.strip()) for part in raw.split(",") if part.strip()]
        elif op in segment_grammar.NUMBER_OPS:
            node["value"] = _number(raw)
        elif op == "within_last_days":
            node["value"] = _int(raw)
        else:
            node["value"] = raw
        return node
    raw = _get(data, f"{p}.condition_json")
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # the validator says it is not a condition


# Steps -> fields ------------------------------------------------------------------------


def _str(value) -> str:
    return "" if value is None else str(value)


def steps_to_fields(steps: list[dict]) -> dict[str, str]:
    """The form fields (name -> value) that describe ``steps``."""
    data: dict[str, str] = {}
    for i, step in enumerate(steps):
        p = f"steps[{i}]"
        kind = step.get("type", "")
        data[f"{p}.id"] = _str(step.get("id"))
        data[f"{p}.type"] = kind
        data[f"{p}.label"] = _str(step.get("label"))
        if kind == "wait":
            data[f"{p}.wait_mode"] = "until" if "until" in step else "minutes"
            data[f"{p}.minutes"] = _str(step.get("minutes"))
            data[f"{p}.until"] = _str(step.get("until"))
        elif kind == "wait_for_event":
            data[f"{p}.event"] = _str(step.get("event"))
            data[f"{p}.timeout_minutes"] = _str(step.get("timeout_minutes"))
            data[f"{p}.timeout_next"] = _str(step.get("timeout_next"))
        elif kind == "branch":
            data.update(_condition_fields(p, step.get("condition")))
            data[f"{p}.yes"] = _str(step.get("yes"))
            data[f"{p}.no"] = _str(step.get("no"))
        elif kind == "split":
            for j, variant in enumerate(step.get("variants") or []):
                v = f"{p}.variants[{j}]"
                variant = variant if isinstance(variant, dict) else {}
                data[f"{v}.name"] = _str(variant.get("name"))
                data[f"{v}.percent"] = _str(variant.get("percent"))
                data[f"{v}.next"] = _str(variant.get("next"))
                data[f"{v}.holdout"] = "1" if variant.get("holdout") else ""
        elif kind in ("send_email", "audience", "webhook", "esp_list"):
            data[f"{p}.template_id"] = _str(step.get("template_id"))
            data[f"{p}.destination_id"] = _str(step.get("destination_id"))
            data[f"{p}.action"] = _str(step.get("action"))
        elif kind == "set_trait":
            value = step.get("value")
            data[f"{p}.key"] = _str(step.get("key"))
            if isinstance(value, str):
                data[f"{p}.value"], data[f"{p}.value_kind"] = value, "text"
            else:
                data[f"{p}.value"], data[f"{p}.value_kind"] = json.dumps(value), "json"
        if kind in SINGLE_NEXT or kind == "wait_for_event":
            data[f"{p}.next"] = _str(step.get("next"))
    return data


def condition_type(condition) -> str:
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


def _condition_fields(p: str, condition) -> dict[str, str]:
    c = f"{p}.condition"
    ctype = condition_type(condition)
    data = {f"{p}.cond_type": ctype}
    if ctype == "segment":
        data[f"{c}.segment_id"] = _str(condition.get("segment_id"))
        data[f"{c}.member"] = "0" if condition.get("member") is False else "1"
    elif ctype == "event_since_entry":
        data[f"{c}.name"] = _str(condition.get("name"))
    elif ctype in ("trait", "computed"):
        data[f"{c}.key"] = _str(condition.get("key"))
        data[f"{c}.op"] = _str(condition.get("op"))
        if "values" in condition:
            data[f"{c}.value"] = ", ".join(str(v) for v in condition["values"])
        else:
            data[f"{c}.value"] = _str(condition.get("value"))
    else:
        data[f"{p}.condition_json"] = json.dumps(condition, indent=1)
    return data


# Editing actions ------------------------------------------------------------------------


# The editor's view of the journey ---------------------------------------------------------


@dataclass
class Field:
    name: str
    value: str
    errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-")

    @property
    def error_id(self) -> str:
        return self.id + "-error"


class Errors:
    """Validation errors by path, each handed out once; the rest are general."""

    def __init__(self, errors: list[dict] | None = None):
        self.by_path: dict[str, list[str]] = {}
        for error in errors or []:
            self.by_path.setdefault(error["field"], []).append(error["message"])
        self.count = len(errors or [])

    def take(self, path: str) -> list[str]:
        return self.by_path.pop(path, [])

    def take_prefix(self, prefix: str) -> list[tuple[str, str]]:
        found = []
        for path in [p for p in self.by_path if p == prefix or p.startswith(prefix + ".")]:
            for message in self.by_path.pop(path):
                found.append((path, message))
        return found

    def general(self) -> list[str]:
        return [
            f"{path}: {m}" if path != "steps" else m
            for path, messages in self.by_path.items()
            for m in messages
        ]


def editor_view(steps: list[dict], errors: list[dict] | None = None) -> dict:
    """Per step, its fields (value + errors) for the template; and the errors left over."""
    data = steps_to_fields(steps)
    errs = Errors(errors)
    out = []
    for i, step in enumerate(steps):
        p = f"steps[{i}]"
        fields: dict[str, Field] = {}
        for name, value in data.items():
            if name.startswith(p + ".") and "variants[" not in name:
                short = name[len(p) + 1 :]
                fields[short.replace(".", "_")] = Field(name, value, errs.take(name))
        step_errors = errs.take(p) + errs.take(f"{p}.type")
        variants = []
        if step.get("type") == "split":
            step_errors += errs.take(f"{p}.variants")
            for j, _variant in enumerate(step.get("variants") or []):
                v = f"{p}.variants[{j}]"
                variants.append(
                    {
                        key: Field(
                            f"{v}.{key}", data.get(f"{v}.{key}", ""), errs.take(f"{v}.{key}")
                        )
                        for key in ("name", "percent", "next", "holdout")
                    }
                    | {"index": j}
                )
        condition_errors = []
        if step.get("type") == "branch":
            for path, message in errs.take_prefix(f"{p}.condition"):
                leaf = path.rsplit(".", 1)[-1].split("[")[0]
                target = fields.get(f"condition_{leaf}")
                if target is not None and fields.get("cond_type").value != "custom":
                    target.errors.append(message)
                else:
                    condition_errors.append(message)
        for name in ("id", "label", "type"):
            fields.setdefault(name, Field(f"{p}.{name}", "", []))
        out.append(
            {
                "index": i,
                "path": p,
                "step": step,
                "type": step.get("type"),
                "type_label": TYPE_LABELS.get(step.get("type"), "Step"),
                "f": fields,
                "variants": variants,
                "errors": step_errors,
                "condition_errors": condition_errors,
                "has_errors": bool(
                    step_errors
                    or condition_errors
                    or any(f.errors for f in fields.values())
                    or any(v[k].errors for v in variants for k in ("name", "percent", "next"))
                ),
            }
        )
    return {"steps": out, "general": errs.general(), "count": errs.count}


def check(steps: list[dict]) -> list[dict]:
    """The validator's errors for ``steps`` (empty when valid)."""
    try:
        grammar.validate(steps)
    except grammar.StepsError as error:
        return error.errors
    return []
