"""Array parameters sent as one PostgreSQL array literal.

The set-based statements of event processing pass whole batches as arrays
(``unnest(%s::bigint[], %s::jsonb[], ...)``). psycopg, binding on the client side as
Django uses it, dumps a Python list element by element and quotes every element that
needs it with a regular expression: measured on the profiles benchmark, that was about
9 s of 47 s of processing (a batch's 500 event properties as jsonb[] alone take about
20 ms; a timestamptz[] of 500, 4 ms). Built here with ``str.join`` and ``str.replace``,
the same array is one string that libpq quotes in C, and the statement's cast (or the
column it is compared with) gives it its type.

Only flat lists of scalars are converted; anything else is left to psycopg. The literal
is a parameter like any other (never SQL text): inside a double-quoted element only a
backslash and a double quote are special, and both are escaped.
"""

from __future__ import annotations

import datetime
import decimal
import math
import uuid
from collections.abc import Mapping

_QUOTED_TYPES = (str, datetime.date, datetime.time, decimal.Decimal, uuid.UUID)


class NotScalar(Exception):
    pass


def _element(value) -> str:
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'"{_FLOAT_WORDS[str(value)]}"'
    if isinstance(value, _QUOTED_TYPES):
        text = value.isoformat() if isinstance(value, datetime.date | datetime.time) else str(value)
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise NotScalar(type(value).__name__)


_FLOAT_WORDS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def array_literal(values: list) -> str | list:
    """``values`` as the text of a one-dimensional array, or unchanged if an element is
    not a scalar (a list, a dict, bytes)."""
    try:
        return "{" + ",".join(map(_element, values)) + "}"
    except NotScalar:
        return values


def adapt(params):
    """The statement's parameters (a sequence or a mapping) with every list parameter
    as an array literal."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {k: array_literal(v) if isinstance(v, list) else v for k, v in params.items()}
    return [array_literal(v) if isinstance(v, list) else v for v in params]
