"""Event-property filters of a computed trait ("sum of revenue where category = Tents"):
which of the events named count. Each filter is {"property": P, "op": OP, "value": V};
the SQL for it is one of the constant fragments below with the property name and the
value bound as parameters, never text from the definition.

Equality and "contains" compare the property's text (a number's JSON text: 10 equals
"10"); "contains" ignores case; greater / less compare numbers and skip events whose
property is not a number. An event without the property is "not equal" to any value.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_FILTERS = 5
MAX_VALUE = 200
# A property name: letters, digits, space and _ - . : / @ $ #, up to 200 characters; no
# quotes, operators or control characters, so that it reads unambiguously in "P = V".
PROPERTY = re.compile(r"[\w .:/@$#-]{1,200}")

OPS = {
    "equals": ("=", "properties->>%({p})s = %({v})s"),
    "not_equals": ("!=", "properties->>%({p})s IS DISTINCT FROM %({v})s"),
    "contains": ("contains", "strpos(lower(properties->>%({p})s), lower(%({v})s)) > 0"),
    "gt": (">", "{number} > %({v})s::numeric"),
    "lt": ("<", "{number} < %({v})s::numeric"),
}
NUMBER = (
    "CASE WHEN jsonb_typeof(properties->%({p})s) = 'number' "
    "THEN (properties->>%({p})s)::numeric END"
)
# "category = Tents", "price > 10", "name contains tent": how a filter is typed and shown.
LINE = re.compile(r"^(?P<property>.+?)\s*(?P<op>!=|=|>|<|\scontains\s)\s*(?P<value>.*)$")
SYMBOLS = {symbol.strip(): op for op, (symbol, _) in OPS.items()}


class FilterError(ValueError):
    """A filter that cannot be used; the message names the filter and why."""


def clean(filters) -> list[dict]:
    """The filters checked and normalised (numbers for > and <); FilterError otherwise."""
    if filters in (None, ""):
        return []
    if not isinstance(filters, list):
        raise FilterError("Filters are a list of {property, op, value}.")
    if len(filters) > MAX_FILTERS:
        raise FilterError(f"At most {MAX_FILTERS} filters.")
    return [_clean_one(i + 1, item) for i, item in enumerate(filters)]


def _clean_one(n: int, item) -> dict:
    if not isinstance(item, dict) or set(item) - {"property", "op", "value"}:
        raise FilterError(f"Filter {n}: give a property, an op and a value.")
    prop = item.get("property")
    if not isinstance(prop, str) or not PROPERTY.fullmatch(prop.strip() or "?"):
        shown = str(prop)[:40]
        raise FilterError(
            f"Filter {n}: {shown!r} is not a property name (letters, digits, spaces and "
            "_ - . : / @ $ #, up to 200 characters)."
        )
    op = item.get("op")
    if op not in OPS:
        raise FilterError(f"Filter {n}: the op is one of {', '.join(OPS)}.")
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FilterError(f"Filter {n}: the value is a text or a number.")
    value = str(value).strip()
    if not value or len(value) > MAX_VALUE:
        raise FilterError(f"Filter {n}: the value is 1 to {MAX_VALUE} characters.")
    if not _storable(value):
        raise FilterError(f"Filter {n}: the value holds a character no text can hold.")
    if op in ("gt", "lt"):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise FilterError(f"Filter {n}: {op} compares with a number.") from None
        if not number.is_finite() or abs(number.adjusted()) > 100:
            raise FilterError(f"Filter {n}: {value[:20]} is not a usable number.")
    return {"property": prop.strip(), "op": op, "value": value}


def _storable(text: str) -> bool:
    """No NUL (PostgreSQL's text cannot hold it) and no lone surrogate (not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def sql(filters: list[dict]) -> tuple[str, dict]:
    """ " AND ..." with a fragment per filter, and its parameters (named f0p, f0v, ...)."""
    parts, params = [], {}
    for i, item in enumerate(filters):
        p, v = f"f{i}p", f"f{i}v"
        fragment = OPS[item["op"]][1].format(p=p, v=v, number=NUMBER.format(p=p))
        parts.append(f" AND {fragment}")
        params[p] = item["property"]
        params[v] = Decimal(item["value"]) if item["op"] in ("gt", "lt") else item["value"]
    return "".join(parts), params


def parse_lines(text: str) -> list[dict]:
    """Filters typed one per line ("category = Tents"), for clean()."""
    found = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = LINE.match(line.strip())
        if match is None:
            raise FilterError(
                f"Line {number}: write a property, one of = != > < contains, and a value."
            )
        op = SYMBOLS[match["op"].strip()]
        found.append({"property": match["property"], "op": op, "value": match["value"]})
    return found


def as_lines(filters: list[dict]) -> str:
    return "\n".join(f"{f['property']} {OPS[f['op']][0]} {f['value']}" for f in filters or [])
