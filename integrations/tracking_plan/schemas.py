"""A planned event's JSON Schema: checked when saved, compiled once per plan version.

A plain ``jsonschema`` validation costs about half of an event's whole ingestion budget,
so a schema is compiled twice, once: into a Python predicate for the keywords plans
mostly use (type, properties, required, additionalProperties, items, enum of strings,
bounds, pattern), which answers "valid" for almost every event in a few microseconds, and
into a jsonschema validator, asked only when the predicate says "invalid" (to say why) or
for a schema using other keywords. The predicate must never call valid what jsonschema
refuses; tests compare the two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import jsonschema
import referencing
import referencing.exceptions
from jsonschema.exceptions import SchemaError

TRAIT_TYPES = ("string", "number", "integer", "boolean", "object", "array")
DEFAULT_SCHEMA = {"type": "object", "properties": {}}
# Drafts in which every keyword the predicate knows means what it means in 2020-12.
FAST_DRAFTS = {
    "",
    "http://json-schema.org/draft-06/schema#",
    "http://json-schema.org/draft-07/schema#",
    "https://json-schema.org/draft/2019-09/schema",
    "https://json-schema.org/draft/2020-12/schema",
}
ANNOTATIONS = {
    "title",
    "description",
    "default",
    "examples",
    "$comment",
    "$schema",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",  # an annotation only: jsonschema asserts no format without a format checker
}
# No remote $ref is ever fetched: a schema is resolved within itself.
_REGISTRY = referencing.Registry()


class SchemaInvalid(ValueError):
    """Why a schema cannot be a planned event's: the message shown at the field."""


def _validator_class(schema: dict):
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _pointer_resolves(schema: dict, ref: str) -> bool:
    if ref in ("#", ""):
        return True
    if not ref.startswith("#/"):
        return False
    node = schema
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def check_schema(schema) -> None:
    """Raises SchemaInvalid with a readable reason when ``schema`` cannot describe an
    event's properties: not an object, not valid JSON Schema, a $ref outside itself, or
    a type that is not "object"."""
    if not isinstance(schema, dict):
        raise SchemaInvalid("The schema must be a JSON object, e.g. {\"type\": \"object\"}.")
    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise SchemaInvalid(
            f"Not a valid JSON Schema{f' at {where}' if where else ''}: {exc.message}"
        ) from None
    for ref in _refs(schema):
        if not _pointer_resolves(schema, ref):
            raise SchemaInvalid(
                f"$ref {ref!r} does not point inside this schema (remote references are "
                "not fetched)."
            )
    kind = schema.get("type", "object")
    if kind != "object" and not (isinstance(kind, list) and "object" in kind):
        raise SchemaInvalid('An event\'s properties are an object: "type" must be "object".')


# The fast predicate ----------------------------------------------------------------------


class Unsupported(Exception):
    """A keyword the predicate does not know: jsonschema alone validates this schema."""


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_integer(v) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


TYPE_TESTS: dict[str, Callable] = {
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "integer": _is_integer,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _type_check(types) -> Callable:
    names = [types] if isinstance(types, str) else list(types)
    try:
        tests = [TYPE_TESTS[name] for name in names]
    except (KeyError, TypeError):
        raise Unsupported("type") from None
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(test(v) for test in tests)


def _enum_check(values) -> Callable:
    # jsonschema's equality differs from Python's for numbers and booleans (1 is not
    # true): only strings and null are compiled here.
    if not isinstance(values, list) or not all(v is None or isinstance(v, str) for v in values):
        raise Unsupported("enum")
    allowed = frozenset(values)
    return lambda v: (v is None or isinstance(v, str)) and v in allowed


def _bound_checks(schema: dict) -> list[Callable]:
    checks = []
    for key, test in (
        ("minimum", lambda v, n: v >= n),
        ("maximum", lambda v, n: v <= n),
        ("exclusiveMinimum", lambda v, n: v > n),
        ("exclusiveMaximum", lambda v, n: v < n),
    ):
        if key in schema:
            bound = schema[key]
            if not _is_number(bound):
                raise Unsupported(key)
            checks.append(lambda v, b=bound, t=test: not _is_number(v) or t(v, b))
    for key, kinds, test in (
        ("minLength", str, lambda v, n: len(v) >= n),
        ("maxLength", str, lambda v, n: len(v) <= n),
        ("minItems", list, lambda v, n: len(v) >= n),
        ("maxItems", list, lambda v, n: len(v) <= n),
    ):
        if key in schema:
            checks.append(
                lambda v, n=schema[key], k=kinds, t=test: not isinstance(v, k) or t(v, n)
            )
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        checks.append(lambda v: not isinstance(v, str) or search(v) is not None)
    return checks


def _object_checks(schema: dict) -> list[Callable]:
    checks = []
    properties = {name: _compile(sub) for name, sub in schema.get("properties", {}).items()}
    if properties:
        items = tuple(properties.items())
        checks.append(
            lambda v: not isinstance(v, dict) or all(k not in v or f(v[k]) for k, f in items)
        )
    required = tuple(schema.get("required", ()))
    if required:
        checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in required))
    extra = schema.get("additionalProperties", True)
    if extra is not True:
        test = _compile(extra)
        known = frozenset(properties)
        checks.append(
            lambda v: not isinstance(v, dict)
            or all(test(item) for k, item in v.items() if k not in known)
        )
    return checks


KNOWN = ANNOTATIONS | {"type", "enum", "const", "properties", "required"}
KNOWN |= {"additionalProperties", "items", "pattern", "minimum", "maximum"}
KNOWN |= {"exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"}
KNOWN |= {"minItems", "maxItems"}


def _compile(schema) -> Callable:
    if schema is True:
        return lambda v: True
    if schema is False:
        return lambda v: False
    if not isinstance(schema, dict) or not schema.keys() <= KNOWN:
        raise Unsupported("keyword")
    checks = []
    if "type" in schema:
        checks.append(_type_check(schema["type"]))
    if "enum" in schema:
        checks.append(_enum_check(schema["enum"]))
    if "const" in schema:
        checks.append(_enum_check([schema["const"]]))
    checks += _bound_checks(schema)
    checks += _object_checks(schema)
    if "items" in schema:
        if not isinstance(schema["items"], dict | bool):
            raise Unsupported("items")  # draft 7's tuple form
        each = _compile(schema["items"])
        checks.append(lambda v: not isinstance(v, list) or all(each(x) for x in v))
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(check(v) for check in checks)


def fast_predicate(schema: dict) -> Callable | None:
    """The schema as a Python predicate, or None when it uses what only jsonschema knows."""
    if schema.get("$schema", "") not in FAST_DRAFTS:
        return None
    try:
        return _compile(schema)
    except (Unsupported, re.error):
        return None


# Compiled schemas and what they find ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    path: tuple  # inside the checked object: ("products", 0, "price")
    missing: bool  # a required property that is absent
    detail: str  # what is wrong, without the value


@dataclass(frozen=True, slots=True)
class Compiled:
    planned: frozenset | None  # the property names planned; None: any other is welcome
    fast: Callable | None
    validator: object

    def problems(self, instance: dict) -> list[Problem]:
        """Nothing when the object is valid; otherwise each problem once."""
        if self.fast is not None and self.fast(instance):
            return []
        try:
            found = {p: None for e in self.validator.iter_errors(instance) for p in _problems(e)}
        except (referencing.exceptions.Unresolvable, RecursionError):
            return [Problem((), False, "the schema could not be applied")]
        return list(found)


def compile_schema(schema: dict) -> Compiled:
    """One saved (so already checked) schema, compiled. Properties not listed under
    "properties" are unplanned unless "additionalProperties" welcomes them (true or a
    schema); the door takes those out before validating, and reports them itself."""
    extra = schema.get("additionalProperties", False)
    planned = None if extra is not False else frozenset(schema.get("properties", {}))
    validated = dict(schema)
    if planned is not None:
        validated.pop("additionalProperties", None)
    validator = _validator_class(validated)(validated, registry=_REGISTRY)
    return Compiled(planned=planned, fast=fast_predicate(validated), validator=validator)


def traits_schema(traits: dict[str, str]) -> dict:
    """The identify traits as one schema: each its type, or null (a trait being unset)."""
    return {
        "type": "object",
        "properties": {name: {"type": [kind, "null"]} for name, kind in traits.items()},
    }


def json_type(value) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if TYPE_TESTS[name](value):
            return name
    return type(value).__name__


def _problems(error) -> list[Problem]:
    path = tuple(error.absolute_path)
    keyword = error.validator
    if keyword == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        return [Problem((*path, n), True, "missing") for n in error.validator_value if n not in present]
    if keyword == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [Problem(path, False, f"expected {expected}, got {json_type(error.instance)}")]
    if keyword in ("enum", "const"):
        return [Problem(path, False, "not one of the allowed values")]
    return [Problem(path, False, f"fails {keyword} {str(error.validator_value)[:60]}")]
