"""A JSON Schema turned into Python source, once per plan version: the door's fast "is
this valid?" (about a microsecond for an event of a few properties, where jsonschema
takes some twenty and closures six).

Only the keywords whose meaning is plain are compiled; any other makes ``predicate``
answer None and jsonschema validates that schema alone. Values from the schema (property
names, bounds, enums, patterns) are never written into the source: they are constants
the generated function reads, so a schema cannot inject code. The predicate must never
call valid what jsonschema refuses (tests compare the two).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Drafts in which every keyword compiled here means what it means in 2020-12.
FAST_DRAFTS = {
    "",
    "http://json-schema.org/draft-06/schema#",
    "http://json-schema.org/draft-07/schema#",
    "https://json-schema.org/draft/2019-09/schema",
    "https://json-schema.org/draft/2020-12/schema",
}
ANNOTATIONS = {"title", "description", "default", "examples", "$comment", "$schema"}
# format is an annotation only: jsonschema asserts none without a format checker.
ANNOTATIONS |= {"deprecated", "readOnly", "writeOnly", "format"}
KNOWN = ANNOTATIONS | {"type", "enum", "const", "properties", "required", "items"}
KNOWN |= {"additionalProperties", "pattern", "minimum", "maximum", "exclusiveMinimum"}
KNOWN |= {"exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems"}
_NUMBER = "(isinstance({x}, (int, float)) and not isinstance({x}, bool))"
TYPES = {
    "string": "isinstance({x}, str)",
    "number": _NUMBER,
    "integer": "((isinstance({x}, int) and not isinstance({x}, bool))"
    " or (isinstance({x}, float) and {x}.is_integer()))",
    "boolean": "isinstance({x}, bool)",
    "object": "isinstance({x}, dict)",
    "array": "isinstance({x}, list)",
    "null": "{x} is None",
}
NUMBER_BOUNDS = {"minimum": "<", "maximum": ">", "exclusiveMinimum": "<=", "exclusiveMaximum": ">="}
LENGTHS = {
    "minLength": ("str", "<"),
    "maxLength": ("str", ">"),
    "minItems": ("list", "<"),
    "maxItems": ("list", ">"),
}
MAX_NESTING = 8  # Python refuses more than 20 nested blocks; deeper goes to jsonschema


class Unsupported(Exception):
    """A keyword (or a use of one) compiled only by jsonschema."""


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Source:
    def __init__(self):
        self.lines = ["def check(v0):"]
        self.constants: dict[str, object] = {"MISSING": object()}
        self.names = 0

    def constant(self, value) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name

    def variable(self) -> str:
        self.names += 1
        return f"v{self.names}"

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * (depth + 1) + text)

    def refuse_unless(self, depth: int, condition: str) -> None:
        self.line(depth, f"if not ({condition}): return False")


def _emit(src: _Source, schema, x: str, depth: int) -> None:
    """Lines that return False when ``x`` breaks ``schema`` (and fall through if not)."""
    if schema is True:
        return
    if schema is False:
        src.line(depth, "return False")
        return
    if not isinstance(schema, dict) or not schema.keys() <= KNOWN or depth > MAX_NESTING:
        raise Unsupported("keyword")
    if "type" in schema:
        names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        if not isinstance(names, list) or not set(names) <= TYPES.keys():
            raise Unsupported("type")
        src.refuse_unless(depth, " or ".join(TYPES[n].format(x=x) for n in names))
    for key in ("enum", "const"):
        if key in schema:
            values = schema["enum"] if key == "enum" else [schema["const"]]
            # jsonschema's equality differs from Python's for numbers and booleans (1 is
            # not true): only strings and null are compiled.
            if not isinstance(values, list) or any(
                v is not None and not isinstance(v, str) for v in values
            ):
                raise Unsupported(key)
            allowed = src.constant(frozenset(values))
            src.refuse_unless(depth, f"({x} is None or isinstance({x}, str)) and {x} in {allowed}")
    _emit_bounds(src, schema, x, depth)
    _emit_object(src, schema, x, depth)
    if "items" in schema:
        if not isinstance(schema["items"], dict | bool):
            raise Unsupported("items")  # draft 7's tuple form
        item = src.variable()
        src.line(depth, f"if isinstance({x}, list):")
        src.line(depth + 1, f"for {item} in {x}:")
        src.line(depth + 2, "pass")
        _emit(src, schema["items"], item, depth + 2)


def _emit_bounds(src: _Source, schema: dict, x: str, depth: int) -> None:
    for key, breaks in NUMBER_BOUNDS.items():
        if key in schema:
            if not _is_number(schema[key]):
                raise Unsupported(key)
            bound = src.constant(schema[key])
            number = _NUMBER.format(x=x)
            src.line(depth, f"if {number} and {x} {breaks} {bound}: return False")
    for key, (kind, breaks) in LENGTHS.items():
        if key in schema:
            size = src.constant(schema[key])
            src.line(
                depth, f"if isinstance({x}, {kind}) and len({x}) {breaks} {size}: return False"
            )
    if "pattern" in schema:
        search = src.constant(re.compile(schema["pattern"]).search)
        src.line(depth, f"if isinstance({x}, str) and {search}({x}) is None: return False")


def _emit_object(src: _Source, schema: dict, x: str, depth: int) -> None:
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not properties and not required and extra is True:
        return
    src.line(depth, f"if isinstance({x}, dict):")
    src.line(depth + 1, "pass")
    if required:
        src.refuse_unless(depth + 1, f"{src.constant(frozenset(required))} <= {x}.keys()")
    for name, sub in properties.items():
        value = src.variable()
        src.line(depth + 1, f"{value} = {x}.get({src.constant(name)}, MISSING)")
        src.line(depth + 1, f"if {value} is not MISSING:")
        src.line(depth + 2, "pass")
        _emit(src, sub, value, depth + 2)
    if extra is True:
        return
    known = src.constant(frozenset(properties))
    if extra is False:
        src.refuse_unless(depth + 1, f"{x}.keys() <= {known}")
        return
    key, value = src.variable(), src.variable()
    src.line(depth + 1, f"for {key}, {value} in {x}.items():")
    src.line(depth + 2, f"if {key} not in {known}:")
    src.line(depth + 3, "pass")
    _emit(src, extra, value, depth + 3)


def predicate(schema: dict) -> Callable | None:
    """The schema as a Python function answering valid or not, or None when it uses
    what only jsonschema knows."""
    if schema.get("$schema", "") not in FAST_DRAFTS:
        return None
    src = _Source()
    try:
        _emit(src, schema, "v0", 0)
        src.line(0, "return True")
        namespace = dict(src.constants)
        exec(compile("\n".join(src.lines), "<tracking plan schema>", "exec"), namespace)  # noqa: S102
    except (Unsupported, re.error, SyntaxError, RecursionError):
        return None
    return namespace["check"]
