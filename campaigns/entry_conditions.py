"""Who of a trigger's people enter: the event's property filters and the entry audience.

Property filters (``Campaign.trigger_filters``), all of them must hold (AND)::

    [{"property": "cart.total", "op": ">", "value": 50}, ...]

``property`` is a path into the event's properties: ``cart.total`` is the key "cart.total"
when the properties have it, else ``properties["cart"]["total"]`` (``items.0.price``
reads a list by index). ``op`` is one of ``=  !=  >  >=  <  <=  contains  exists``.
The comparison is typed by the filter's value: a number compares with a number (a
numeric text such as "60" counts as 60), ``true``/``false`` with a boolean, a text with
a text (``contains``: a substring of a text, or an item of a list). ``>``/``<``… need a
number, or a date as YYYY-MM-DD (compared with the property's ISO date or time). A
property of another type, missing or malformed simply does not match (``!=`` matches
it): ``matches`` never raises, so one odd event never stops the trigger reader.

The entry audience (``Campaign.entry_audience``) is a segment rule (segments/grammar.py;
``{}``: everyone), checked for the person at trigger time with the segment compiler.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from segments import compiler as segment_compiler
from segments import grammar as segment_grammar
from segments.models import Segment

OPS = ("=", "!=", ">", ">=", "<", "<=", "contains", "exists")
OP_LABELS = {
    "=": "equals",
    "!=": "does not equal",
    ">": "is more than",
    ">=": "is at least",
    "<": "is less than",
    "<=": "is at most",
    "contains": "contains",
    "exists": "is present",
}
ORDERED = {">", ">=", "<", "<="}
MAX_FILTERS = 20
MISSING = object()


# --- validation ------------------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _as_date(value) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _text_problem(value, what: str) -> str:
    """The segment grammar's check of a text (empty, too long, not storable), one message."""
    checker = segment_grammar.Validator()
    checker.text("", value, what)
    return checker.errors[0]["message"] if checker.errors else ""


def _value_problem(op: str, value) -> str:
    if op == "exists":
        return ""
    if op in ORDERED:
        if _is_number(value) or (isinstance(value, str) and _as_date(value)):
            return ""
        return "Enter a number (or a date as YYYY-MM-DD) to compare with."
    if _is_number(value) or isinstance(value, bool):
        return "" if op != "contains" or _is_number(value) else "Enter a text or a number."
    if value is None:
        return "Enter a value."
    return _text_problem(value, "a value") if isinstance(value, str) else "Enter a value."


def filter_errors(filters, *, field: str = "trigger_filters") -> list[dict]:
    """Every problem of a list of property filters, at its path
    (``trigger_filters[1].value``)."""
    if filters in (None, []):
        return []
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        return [
            {"field": field, "message": f"Property filters are a list of at most {MAX_FILTERS}."}
        ]
    errors = []
    for i, item in enumerate(filters):
        here = f"{field}[{i}]"
        if not isinstance(item, dict):
            errors.append({"field": here, "message": "Expected a property filter."})
            continue
        for name in sorted(set(item) - {"property", "op", "value"}):
            errors.append(
                {"field": f"{here}.{name}", "message": f"“{name}” is not part of a filter."}
            )
        problem = _text_problem(item.get("property"), "a property")
        if problem:
            errors.append({"field": f"{here}.property", "message": problem})
        op = item.get("op")
        if op not in OPS:
            errors.append({"field": f"{here}.op", "message": "Choose how to compare."})
            continue
        problem = _value_problem(op, item.get("value"))
        if problem:
            errors.append({"field": f"{here}.value", "message": problem})
    return errors


def audience_errors(rule, *, field: str = "entry_audience") -> list[dict]:
    """Every problem of an entry audience (a segment rule, or ``{}`` for everyone), at
    ``entry_audience.<the rule's path>``."""
    if rule in (None, {}):
        return []
    try:
        summary = segment_grammar.validate(rule)
    except segment_grammar.RuleError as error:
        return [{"field": f"{field}.{e['field']}", "message": e["message"]} for e in error.errors]
    known = set(Segment.objects.filter(pk__in=summary.segment_ids).values_list("pk", flat=True))
    missing = sorted(summary.segment_ids - known)
    return [{"field": field, "message": f"No segment has the id {pk}."} for pk in missing]


# --- matching --------------------------------------------------------------------------


def lookup(properties, path: str):
    """The value at ``path`` in the properties, or MISSING."""
    if not isinstance(properties, dict):
        return MISSING
    if path in properties:
        return properties[path]
    here = properties
    for part in path.split("."):
        if isinstance(here, dict) and part in here:
            here = here[part]
        elif isinstance(here, list) and part.isdigit() and int(part) < len(here):
            here = here[int(part)]
        else:
            return MISSING
    return here


def _number(value) -> float | None:
    if _is_number(value):
        return float(value)
    if isinstance(value, str) and len(value) <= 50:
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _boolean(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _order(op: str, left, right) -> bool:
    return {
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


def _equal(found, wanted) -> bool:
    if isinstance(wanted, bool):
        return _boolean(found) is wanted
    if _is_number(wanted):
        number = _number(found)
        return number is not None and number == float(wanted)
    return (
        isinstance(found, str | int | float)
        and not isinstance(found, bool)
        and str(found) == wanted
    )


def _contains(found, wanted) -> bool:
    if isinstance(found, str):
        return str(wanted).lower() in found.lower()
    if isinstance(found, list):
        return any(_equal(item, wanted) for item in found)
    return False


def holds(item: dict, properties) -> bool:
    """Whether one (validated) filter holds for ``properties``; False for any value it
    cannot compare (``!=``: True)."""
    found = lookup(properties, item["property"])
    op, wanted = item["op"], item.get("value")
    if op == "exists":
        return found is not MISSING and found is not None
    if op == "!=":
        return found is MISSING or not _equal(found, wanted)
    if found is MISSING:
        return False
    if op == "=":
        return _equal(found, wanted)
    if op == "contains":
        return _contains(found, wanted)
    if _is_number(wanted):
        number = _number(found)
        return number is not None and _order(op, number, float(wanted))
    left, right = _as_date(found), _as_date(wanted)
    return left is not None and right is not None and _order(op, left, right)


def matches(filters, properties) -> bool:
    """Whether every filter holds. Never raises: a filter or a value it cannot read does
    not match (a stored filter is valid; this is the reader's guard for one that is not)."""
    for item in filters or ():
        try:
            if not holds(item, properties):
                return False
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError):
            return False
    return True


def in_audience(rule, profile_ids) -> set[int]:
    """Of ``profile_ids``, those the entry audience lets in now (all with no audience)."""
    ids = set(profile_ids)
    if not rule or not ids:
        return ids
    found = segment_compiler.queryset(rule, profile_ids=sorted(ids))
    return set(found.values_list("pk", flat=True))


def describe_filter(item: dict) -> str:
    op = OP_LABELS.get(item.get("op"), "?")
    if item.get("op") == "exists":
        return f"{item.get('property')} {op}"
    return f"{item.get('property')} {op} {item.get('value')!r}"
