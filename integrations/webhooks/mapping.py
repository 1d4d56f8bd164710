"""Webhook body → Segment message by rules such as ``traits.email = $.customer.email``.

A rule's target is ``userId``, ``anonymousId``, ``event``, ``timestamp``, ``messageId``,
``traits.<name>``, ``properties.<name>`` or ``context.<name>``; its source is a JSON path
(``$``, ``.key``, ``['key']``, ``[0]``) or a quoted literal (``event = "Order Completed"``).
Pure functions, no database.
"""

import hashlib
import json
import re
from datetime import UTC, datetime

from cdp_site.text import unstorable

SCALAR_TARGETS = ("userId", "anonymousId", "groupId", "event", "timestamp", "messageId")
NESTED_TARGETS = ("traits", "properties", "context")
_SEGMENT = re.compile(r"""\.([A-Za-z_$@][\w$@-]*)|\[(\d+)\]|\[(?:'([^']*)'|"([^"]*)")\]""")
_MISSING = object()
MISSING = _MISSING  # what resolve returns for a path the body lacks


class RuleError(ValueError):
    pass


def parse_path(path: str) -> list:
    """``$.a.b[0]['c d']`` → ["a", "b", 0, "c d"]; RuleError when malformed."""
    path = path.strip()
    if not path.startswith("$"):
        raise RuleError(f"{path!r}: a JSON path starts with $.")
    steps, position = [], 1
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if not match:
            raise RuleError(f"{path!r}: cannot read the path at {path[position:]!r}.")
        name, index, single, double = match.groups()
        steps.append(
            int(index)
            if index is not None
            else next(s for s in (name, single, double) if s is not None)
        )
        position = match.end()
    return steps


def resolve(body, steps: list):
    value = body
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return _MISSING
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return _MISSING
            value = value[step]
    return value


def _check_target(target: str) -> None:
    head, _, name = target.partition(".")
    if target in SCALAR_TARGETS:
        return
    if head in NESTED_TARGETS and name and "." not in name:
        return
    allowed = ", ".join(SCALAR_TARGETS) + ", traits.<name>, properties.<name>, context.<name>"
    raise RuleError(f"{target!r} is not a target; use one of {allowed}.")


def parse_rules(text: str) -> list[dict]:
    """The editable text (one ``target = source`` a line, # comments) → stored rules."""
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if unstorable(line):
            raise RuleError(f"Line {number}: a character that cannot be stored.")
        target, sep, source = (part.strip() for part in line.partition("="))
        if not sep or not target or not source:
            raise RuleError(f'Line {number}: write target = $.path or target = "text".')
        try:
            _check_target(target)
            if source[0] in "\"'" and source[-1] == source[0] and len(source) >= 2:
                rules.append({"target": target, "value": source[1:-1]})
            else:
                parse_path(source)
                rules.append({"target": target, "path": source})
        except RuleError as exc:
            raise RuleError(f"Line {number}: {exc}") from None
    return rules


def rules_text(rules: list[dict]) -> str:
    lines = []
    for rule in rules:
        source = rule["path"] if "path" in rule else json.dumps(rule.get("value", ""))
        lines.append(f"{rule['target']} = {source}")
    return "\n".join(lines)


def _timestamp(value):
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # milliseconds or seconds
        try:
            return datetime.fromtimestamp(seconds, tz=UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return str(value)
    return value


def compile_rules(rules: list[dict]) -> list[tuple]:
    """Stored rules → (head, name, steps, value) once, for mapping many bodies."""
    compiled = []
    for rule in rules:
        head, _, name = rule["target"].partition(".")
        steps = parse_path(rule["path"]) if "path" in rule else None
        compiled.append((head, name, steps, rule.get("value")))
    return compiled


def message_from(body, *, kind: str, compiled: list[tuple], library: str) -> dict:
    """One JSON body → one message by compiled rules; missing paths are left out."""
    message: dict = {"type": kind, "context": {"library": {"name": library}}}
    for head, name, steps, value in compiled:
        if steps is not None:
            value = resolve(body, steps)
            if value is _MISSING or value is None:
                continue
        if head == "timestamp":
            value = _timestamp(value)
        if name:
            message.setdefault(head, {})[name] = value
        else:
            message[head] = value
    return message


def to_message(body, *, kind: str, rules: list[dict], fallback_id: str) -> dict:
    """One JSON body → one message; missing paths are left out (validation decides)."""
    message = message_from(body, kind=kind, compiled=compile_rules(rules), library="cdp-webhook")
    if message.get("messageId") in (None, ""):
        message["messageId"] = fallback_id
    return message


def body_message_id(raw: bytes, index: int) -> str:
    """Redeliveries of the same body get the same id, so they are stored once."""
    return "hook-" + hashlib.sha256(raw + b"#" + str(index).encode()).hexdigest()[:40]
