"""What a computed trait's definition must satisfy beyond its fields' types, checked by the
rules form and serializer and again by the service that saves it: an event for the event
aggregations, usable filters, a formula that parses and refers only to known traits
without a cycle, a score of an existing computed trait."""

from __future__ import annotations

from .. import attribution
from ..models import ComputedTrait, TraitKey
from . import filters as event_filters
from . import formulas, scores

NEEDS_PROPERTY = {"sum", "avg", "min", "max", "first", "last", "most_frequent"}
# "revenue" reads the amount as attribution does (the source's revenue property, else
# revenue, else total; numbers and numeric text): no property to name.
NO_PROPERTY = {"count", "days_since_last", "revenue", "formula", "score", "rfm_segment"}


class DefinitionError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def check(fields: dict, *, pk: int | None = None) -> dict:
    """The definition's fields, normalised; DefinitionError(field, message) otherwise.
    ``pk``: the definition being edited (its old self does not count in a cycle)."""
    fields = dict(fields)
    aggregation = fields.get("aggregation")
    fields["property"] = (fields.get("property") or "").strip()
    fields["event_name"] = (fields.get("event_name") or "").strip()
    if aggregation in NEEDS_PROPERTY and not fields["property"]:
        label = dict(ComputedTrait.Aggregation.choices)[aggregation]
        raise DefinitionError("property", f"{label} needs a property to aggregate.")
    if aggregation in NO_PROPERTY:
        fields["property"] = ""
    if aggregation in ("formula", "score", "rfm_segment"):
        fields.update(event_name="", filters=[], window_days=None)
    elif not fields["event_name"]:
        raise DefinitionError("event_name", "Name the event to aggregate.")
    try:
        fields["filters"] = event_filters.clean(fields.get("filters"))
    except event_filters.FilterError as error:
        raise DefinitionError("filters", str(error)) from None
    key = fields.get("key") or ""
    if key in attribution.KEYS:  # written by every processing batch: a definition would race it
        raise DefinitionError("key", f"{key} is kept by the platform: first and last touch.")
    if aggregation == "formula":
        fields["formula"] = _check_formula(key, fields.get("formula") or "", pk)
    else:
        fields["formula"] = ""
    if aggregation == "score":
        fields["score_of"] = _check_score_of(key, (fields.get("score_of") or "").strip())
    else:
        fields["score_of"] = ""
    if aggregation == "rfm_segment":
        _check_rfm(key)
    return fields


def _check_formula(key: str, text: str, pk: int | None) -> str:
    try:
        tree = formulas.parse(text)
    except formulas.FormulaError as error:
        raise DefinitionError("formula", str(error)) from None
    others = ComputedTrait.objects.exclude(pk=pk) if pk else ComputedTrait.objects.all()
    computed_keys = set(others.values_list("key", flat=True))
    refs = formulas.references(tree)
    unknown = sorted(
        r for r in refs - computed_keys - {key} if not TraitKey.objects.filter(key=r).exists()
    )
    if unknown:
        names = ", ".join(f"`{r}`" for r in unknown)
        raise DefinitionError(
            "formula", f"No computed trait or trait has the key {names}: check the spelling."
        )
    cycle = _cycle(key, refs, others)
    if cycle:
        raise DefinitionError(
            "formula", f"This formula refers back to itself: {' → '.join(cycle)}."
        )
    return text.strip()


def _depends_on(definition: ComputedTrait) -> set[str]:
    if definition.aggregation == "formula":
        try:
            return formulas.references(formulas.parse(definition.formula))
        except formulas.FormulaError:
            return set()
    if definition.aggregation == "score":
        return {definition.score_of}
    if definition.aggregation == "rfm_segment":
        return {scores.RECENCY, scores.FREQUENCY}
    return set()


def readers_of(key: str) -> list[str]:
    """The labels of the definitions whose formula, score or segment reads ``key``."""
    others = ComputedTrait.objects.exclude(key=key).exclude(aggregation__in=NEEDS_PROPERTY)
    return [d.label for d in others if key in _depends_on(d)]


def _cycle(key: str, refs: set[str], others) -> list[str] | None:
    """The path from ``key`` back to itself through the definitions' references, if any."""
    graph = {d.key: _depends_on(d) for d in others}
    graph[key] = refs
    stack = [(key, [key])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for ref in sorted(graph.get(node, ())):
            if ref == key:
                return [*path, key]
            if ref not in seen:
                seen.add(ref)
                stack.append((ref, [*path, ref]))
    return None


def _check_score_of(key: str, of: str) -> str:
    if not of:
        raise DefinitionError("score_of", "Name the computed trait to score.")
    base = ComputedTrait.objects.filter(key=of).first()
    if base is None or of == key:
        raise DefinitionError("score_of", f"No other computed trait has the key `{of}`.")
    if not base.reads_events:
        raise DefinitionError("score_of", "Score a trait computed from events.")
    return of


def _check_rfm(key: str) -> None:
    missing = [
        k
        for k in (scores.RECENCY, scores.FREQUENCY)
        if not ComputedTrait.objects.filter(key=k, aggregation="score").exists()
    ]
    if missing:
        names = " and ".join(f"`{k}`" for k in missing)
        raise DefinitionError("aggregation", f"An RFM segment needs the scores {names}.")
    if key in (scores.RECENCY, scores.FREQUENCY):
        raise DefinitionError("key", "An RFM segment cannot take a score's key.")
