"""A planned event's JSON Schema: checked when saved, compiled once per plan version.

A plain ``jsonschema`` validation costs about half of an event's whole ingestion budget,
so a schema is compiled twice, once: into a Python predicate for the keywords plans
mostly use (predicate.py), which answers "valid" for almost every event in about a
microsecond, and into a jsonschema validator, asked only when the predicate says
"invalid" (to say why) or for a schema using other keywords.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jsonschema
import referencing
import referencing.exceptions
from jsonschema.exceptions import SchemaError

from .predicate import predicate

TRAIT_TYPES = ("string", "number", "integer", "boolean", "object", "array")
DEFAULT_SCHEMA = {"type": "object", "properties": {}}
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
        raise SchemaInvalid('The schema must be a JSON object, e.g. {"type": "object"}.')
    try:
        _validator_class(schema).check_schema(schema)
        refs = list(_refs(schema))
    except RecursionError:
        raise SchemaInvalid("The schema is nested too deeply.") from None
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise SchemaInvalid(
            f"Not a valid JSON Schema{f' at {where}' if where else ''}: {exc.message}"
        ) from None
    for ref in refs:
        if not _pointer_resolves(schema, ref):
            raise SchemaInvalid(
                f"$ref {ref!r} does not point inside this schema (remote references are "
                "not fetched)."
            )
    kind = schema.get("type", "object")
    if kind != "object" and not (isinstance(kind, list) and "object" in kind):
        raise SchemaInvalid('An event\'s properties are an object: "type" must be "object".')


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
    return Compiled(planned=planned, fast=predicate(validated), validator=validator)


def traits_schema(traits: dict[str, str]) -> dict:
    """The identify traits as one schema: each its type, or null (a trait being unset)."""
    return {
        "type": "object",
        "properties": {name: {"type": [kind, "null"]} for name, kind in traits.items()},
    }


_CONTAINERS = {dict: "object", list: "array", str: "string"}


def json_type(value) -> str:
    """The JSON Schema type of a value (an integral float is an integer, as there)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _CONTAINERS.get(type(value), type(value).__name__)


def _problems(error) -> list[Problem]:
    path = tuple(error.absolute_path)
    keyword = error.validator
    if keyword == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        return [
            Problem((*path, n), True, "missing") for n in error.validator_value if n not in present
        ]
    if keyword == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [Problem(path, False, f"expected {expected}, got {json_type(error.instance)}")]
    if keyword in ("enum", "const"):
        return [Problem(path, False, "not one of the allowed values")]
    return [Problem(path, False, f"fails {keyword} {str(error.validator_value)[:60]}")]
