"""The matcher's standard fields and which traits feed them.

A profile goes to the matcher as one row of standard fields. Which of its traits feed
each field is a model's mapping: a list of trait paths tried in order (``address.city``
reads a nested trait), so a company whose data says ``given_name``, ``surname``,
``suburb`` and ``date_of_birth`` maps them once. The default follows the Segment spec's
reserved traits (``firstName``, ``birthday``, ``address.postalCode``...) and their
snake_case spellings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import standardise


@dataclass(frozen=True)
class Options:
    """How a model reads ambiguous values: national phone numbers as this region's, and
    ``02/03/1984`` day first or month first."""

    region: str = "US"
    day_first: bool = True


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    parse: Callable[[object, Options], str | None]


def _full_name_part(index: int) -> Callable[[object, Options], str | None]:
    """The first or last word of a full name (``name`` = ``Ann van der Berg`` gives
    ``ann`` and ``berg``): used only when the mapping has no given name or surname."""

    def parse(value, options: Options) -> str | None:
        words = str(value or "").split()
        return standardise.name(words[index]) if len(words) > 1 else None

    return parse


FIELDS: tuple[Field, ...] = (
    Field("first_name", "Given name", lambda v, o: standardise.name(v)),
    Field("surname", "Surname", lambda v, o: standardise.name(v)),
    Field(
        "birth_date", "Date of birth", lambda v, o: standardise.birth_date(v, day_first=o.day_first)
    ),
    Field("street", "Street", lambda v, o: standardise.street(v)),
    Field("house_number", "House number", lambda v, o: standardise.house_number(v)),
    Field("postcode", "Postcode", lambda v, o: standardise.postcode(v)),
    Field("city", "City", lambda v, o: standardise.city(v)),
    Field("country", "Country", lambda v, o: standardise.country(v)),
    Field("phone", "Phone", lambda v, o: standardise.phone(v, region=o.region)),
    Field("email_local", "E-mail (local part)", lambda v, o: standardise.email_parts(v)[0]),
    Field("email_domain", "E-mail (domain)", lambda v, o: standardise.email_parts(v)[1]),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
_BY_NAME = {f.name: f for f in FIELDS}

DEFAULT_MAPPING: dict[str, list[str]] = {
    "first_name": ["firstName", "first_name", "given_name", "firstname"],
    "surname": ["lastName", "last_name", "surname", "family_name", "lastname"],
    "birth_date": ["birthday", "date_of_birth", "birth_date", "dob"],
    "street": ["address.street", "street", "address_line1"],
    "house_number": ["address.houseNumber", "house_number", "address.street", "street"],
    "postcode": ["address.postalCode", "address.postal_code", "postal_code", "postcode", "zip"],
    "city": ["address.city", "city"],
    "country": ["address.country", "country"],
    "phone": ["phone", "mobile"],
    "email_local": ["email"],
    "email_domain": ["email"],
}
# Read from a full name when the mapping finds no given name or surname.
FULL_NAME_PATHS = ("name",)
_FROM_FULL_NAME = {"first_name": _full_name_part(0), "surname": _full_name_part(-1)}


class MappingError(ValueError):
    """A mapping that names an unknown field or a path that cannot be a trait path."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def validate_mapping(mapping: Mapping[str, object]) -> dict[str, list[str]]:
    """The mapping cleaned (paths stripped, empty ones dropped), or MappingError naming
    the field at fault: what the page's form and the API both call."""
    cleaned: dict[str, list[str]] = {}
    for field, paths in mapping.items():
        if field not in _BY_NAME:
            raise MappingError(
                field, "not a matcher field; the fields are " + ", ".join(FIELD_NAMES)
            )
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list | tuple) or not all(isinstance(p, str) for p in paths):
            raise MappingError(field, "give a list of trait names")
        paths = [p.strip() for p in paths if p.strip()]
        for path in paths:
            if len(path) > 200 or any(not part for part in path.split(".")):
                raise MappingError(field, f"{path[:60]!r} is not a trait name or path")
        cleaned[field] = paths
    return cleaned


def trait_at(traits: Mapping, path: str):
    """The value at a dotted path (``address.city``), None where any step is missing."""
    value = traits
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def standard_row(
    traits: Mapping, *, mapping: Mapping[str, list[str]] | None = None, options: Options = Options()
) -> dict[str, str | None]:
    """One profile's standard fields from its current traits: for each field, the first
    mapped path whose value parses."""
    mapping = DEFAULT_MAPPING if mapping is None else mapping
    row: dict[str, str | None] = {}
    for field in FIELDS:
        row[field.name] = _first_parsed(traits, mapping.get(field.name, ()), field, options)
    for field_name, parse in _FROM_FULL_NAME.items():
        if row[field_name] is None:
            row[field_name] = next(
                (v for p in FULL_NAME_PATHS if (v := parse(trait_at(traits, p), options))), None
            )
    return row


def _first_parsed(traits: Mapping, paths, field: Field, options: Options) -> str | None:
    for path in paths:
        value = trait_at(traits, path)
        if value is None or value == "":
            continue
        parsed = field.parse(value, options)
        if parsed is not None:
            return parsed
    return None


def matchable(row: Mapping[str, str | None]) -> bool:
    """Whether a row holds enough to compare at all: a name and one more field. A profile
    with only an anonymous id would be blocked with nothing and score on nothing."""
    named = row.get("surname") is not None or row.get("first_name") is not None
    others = sum(1 for k, v in row.items() if v is not None and k not in ("first_name", "surname"))
    return named and others >= 1
