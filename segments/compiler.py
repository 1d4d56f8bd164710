"""Compiles a validated rule (segments/grammar.py) into one ORM filter on profiles.

Every value from the rule travels as a query parameter: trait keys and property names
go through KeyTransform (a bound parameter in PostgreSQL), values through lookups. The
same compiled queryset serves counting, previews, export and membership.

Shapes chosen for the planner: "did X" is an EXISTS (a semi-join), "did not" a NOT
EXISTS (an anti-join), "at least N" an uncorrelated IN over the events grouped by
profile; numbers and dates are compared only where the JSON value has that type (a
CASE, so that a text value never reaches a cast). No value can make a cast raise: one
that did would stop membership for every segment. Numbers are compared as numeric, which
holds any JSON number (float8 overflows past 1.8e308); a date is cast only when its text
is a real calendar date (VALID_DATE: "2024-02-30" looks like a date but is none), so an
impossible value simply does not match.

"At least N" counts with COUNT(*), so that the (name, timestamp, profile) index answers
it alone (an index-only scan; COUNT(event_id) needs every heap row). In an "all" group
that is not negated, the conditions on the profile row itself (traits, computed traits,
stage, consent) move into the first such count: only the events of profiles that pass
them are grouped (a hash join to the few profiles before the aggregate, instead of
grouping every profile's events), and they are not repeated outside, where the planner
would count their selectivity twice. Same members: the count's IN is TRUE exactly when
those conditions are TRUE and the count is reached. Measured by bench/bench_segments.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    DateField,
    DecimalField,
    Exists,
    F,
    Func,
    JSONField,
    OuterRef,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import HasKey, KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Left, Upper
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IExact,
    In,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
    Regex,
)
from django.utils import timezone

from profiles.models import Profile, ProfileEvent, TraitValue
from profiles.privacy import selectors as privacy

from .conditions import TYPES

# YYYY-MM-DD at the start of the text, with a day that exists in that month: 29 February
# only in leap years (divisible by 4, centuries only when divisible by 400), year 0001
# on (PostgreSQL has no year 0000).
VALID_DATE = (
    r"^(?:(?!0000)\d{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"|(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
)


def _numeric(value) -> Value:
    # Bound as numeric: a float8 parameter would turn the comparison back into float8.
    return Value(Decimal(str(value)), output_field=DecimalField())


class Numeric(Func):
    """``::numeric`` without precision (Django's Cast would write numeric(None, None))."""

    template = "(%(expressions)s)::numeric"
    output_field = DecimalField()


class JsonbTypeof(Func):
    function = "jsonb_typeof"
    output_field = CharField()


def active_profiles():
    return Profile.objects.filter(merged_into__isnull=True)


def queryset(
    rule: dict,
    *,
    now: datetime | None = None,
    profile_ids: list[int] | None = None,
    include_restricted: bool = False,
):
    """Active profiles matching ``rule`` (validated beforehand); with ``profile_ids``,
    only those of these profiles (the real-time path: the people who just changed).
    People a privacy request restricted only with ``include_restricted`` (a segment's
    option): the one place members, counts and previews leave them out."""
    found = active_profiles()
    if profile_ids is not None:
        found = found.filter(pk__in=profile_ids)
    if not include_restricted:
        found = found.exclude(pk__in=privacy.restricted_people())
    return found.filter(Compiler(now=now, profile_ids=profile_ids).node(rule["root"]))


class Compiler:
    """Groups and the pieces the condition types share (JSON comparisons, event
    querysets, data from sources); each condition compiles by its type's ``compile``
    (segments/conditions/), one class per type, reading top-down."""

    def __init__(self, *, now: datetime | None = None, profile_ids: list[int] | None = None):
        self.now = now or timezone.now()
        # Repeated inside each uncorrelated subquery (grouped event counts, segment
        # members): PostgreSQL carries ``id = 1`` into them by itself, but not
        # ``id = ANY(...)``, and without it a count over 19 people grouped the events of
        # every profile the sibling conditions let through (0.5 s on 10M events,
        # against 1 ms with the set pushed in).
        self.profile_ids = profile_ids

    def node(self, node: dict, *, positive: bool = True) -> Q:
        """``positive``: no negation above, so only whether ``node`` is TRUE matters."""
        if node["type"] == "group":
            children, inner = node["children"], positive and node["match"] != "none"
            restrict, target = None, None
            if node["match"] == "all" and positive:
                children, restrict, target = self._push_down(children)
            parts = [
                TYPES["event"].compile(self, child, restrict=restrict)
                if child is target
                else self.node(child, positive=inner)
                for child in children
            ]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined & part if node["match"] == "all" else combined | part
            return ~combined if node["match"] == "none" else combined
        return TYPES[node["type"]].compile(self, node)

    def _push_down(self, children: list) -> tuple[list, Q | None, dict | None]:
        """The children of an "all" group read positively, less the profile-row conditions
        that restrict the first grouped event count instead; that restriction; that count."""
        target = next((c for c in children if TYPES["event"].grouped(c)), None)
        row = [c for c in children if self._profile_row(c)]
        if target is None or not row:
            return children, None, None
        restrict = self.node(row[0])
        for child in row[1:]:
            restrict &= self.node(child)
        return [c for c in children if not any(c is r for r in row)], restrict, target

    def _profile_row(self, node: dict) -> bool:
        if node["type"] == "group":
            return all(self._profile_row(child) for child in node["children"])
        return TYPES[node["type"]].profile_row

    # Values in JSON (traits, computed traits, event properties) ----------------------

    def compare(self, container, key: str, node: dict) -> Q:
        op, value, values = node["op"], node.get("value"), node.get("values")
        text = KeyTextTransform(key, container)
        if op == "is_set":
            return Q(HasKey(container, key))
        if op == "is_not_set":
            return ~Q(HasKey(container, key))
        if op == "equals":
            return Q(IExact(text, value))
        if op == "not_equals":
            return ~Q(IExact(Coalesce(text, Value(""), output_field=TextField()), value))
        if op == "contains":
            return Q(IContains(text, value))
        if op == "starts_with":
            return Q(IStartsWith(text, value))
        if op == "in":
            return Q(In(Upper(text), [v.upper() for v in values]))
        if op in ("is_true", "is_false"):
            return Q(Exact(KeyTransform(key, container), Value(op == "is_true", JSONField())))
        if op in ("eq", "lt", "gt", "between"):
            return self._number(container, key, op, value, values)
        return self._date(container, key, op, value)

    def _number(self, container, key, op, value, values) -> Q:
        number = Case(
            When(
                Exact(JsonbTypeof(KeyTransform(key, container)), "number"),
                then=Numeric(KeyTextTransform(key, container)),
            ),
            default=Value(None),
            output_field=DecimalField(),
        )
        if op == "between":
            low, high = _numeric(values[0]), _numeric(values[1])
            return Q(GreaterThanOrEqual(number, low)) & Q(LessThanOrEqual(number, high))
        lookup = {"eq": Exact, "lt": LessThan, "gt": GreaterThan}[op]
        return Q(lookup(number, _numeric(value)))

    def _date(self, container, key, op, value) -> Q:
        text = KeyTextTransform(key, container)
        day = Case(
            When(Regex(text, VALID_DATE), then=Cast(Left(text, 10), DateField())),
            default=Value(None),
            output_field=DateField(),
        )
        if op == "within_last_days":
            return Q(GreaterThanOrEqual(day, (self.now - timedelta(days=value)).date()))
        lookup = LessThan if op == "before" else GreaterThan
        return Q(lookup(day, date.fromisoformat(value)))

    # Events ------------------------------------------------------------------------------

    def events(self, name: str, where, window, *, profile=None):
        found = ProfileEvent.objects.filter(name=name)
        if profile is not None:
            found = found.filter(profile=profile)
        for item in where or ():
            found = found.filter(self.compare(F("properties"), item["property"], item))
        if window and "last_days" in window:
            found = found.filter(timestamp__gte=self.now - timedelta(days=window["last_days"]))
        elif window:
            start = datetime.combine(date.fromisoformat(window["from"]), time.min, UTC)
            end = datetime.combine(date.fromisoformat(window["to"]), time.max, UTC)
            found = found.filter(timestamp__gte=start, timestamp__lte=end)
        return found

    def from_sources(self, which: Q) -> Q:
        events = ProfileEvent.objects.filter(which, profile=OuterRef("pk"))
        traits = TraitValue.objects.filter(which, profile=OuterRef("pk"))
        return Q(Exists(events)) | Q(Exists(traits))
