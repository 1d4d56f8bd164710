"""Rules in plain words, and "why is this person (not) in this segment?".

``describe(rule)`` renders a rule readably ("country is NL · Product Viewed at least 3
times in the last 14 days · did not Order Completed in the last 14 days").

``explain(rule=..., profile_id=...)`` mirrors the rule as a tree: each condition is
evaluated alone against the profile with the same compiler the membership uses (one
small query per condition, on one profile), groups combine their children by their
match, and each condition carries what the profile actually has (the trait's value,
the number of events in the window, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from integrations.models import Source
from profiles.masking import CLEAR, Masker
from profiles.models import Profile, ProfileEvent, TraitValue

from . import compiler
from .conditions import TYPES
from .models import Segment

OP_WORDS = {
    "equals": "is",
    "not_equals": "is not",
    "contains": "contains",
    "starts_with": "starts with",
    "in": "is one of",
    "is_set": "is set",
    "is_not_set": "is not set",
    "eq": "is",
    "lt": "is less than",
    "gt": "is more than",
    "between": "is between",
    "before": "is before",
    "after": "is after",
    "within_last_days": "is within the last",
    "is_true": "is true",
    "is_false": "is false",
}
MATCH_WORDS = {"all": "all of", "any": "any of", "none": "none of"}


class Describer:
    """Words for rule nodes: groups and the pieces condition types share; each condition
    is put in words by its type's ``describe`` (segments/conditions/). Looks up segment
    and source names once each."""

    def __init__(self):
        self._segments: dict[int, str] | None = None
        self._sources: dict[int, str] | None = None

    def segment_name(self, pk) -> str:
        if self._segments is None:
            self._segments = dict(Segment.objects.values_list("pk", "name"))
        return self._segments.get(pk, f"segment {pk}")

    def source_name(self, pk) -> str:
        if self._sources is None:
            self._sources = dict(Source.objects.values_list("pk", "name"))
        return self._sources.get(pk, f"source {pk}")

    # -------------------------------------------------------------------------------------

    @staticmethod
    def times(n: int) -> str:
        return {1: "once", 2: "twice"}.get(n, f"{n} times")

    @staticmethod
    def days(n: int) -> str:
        return "1 day" if n == 1 else f"{n} days"

    def comparison(self, subject: str, node: dict) -> str:
        op, value, values = node.get("op"), node.get("value"), node.get("values") or []
        words = OP_WORDS.get(op, op)
        if op in ("is_set", "is_not_set", "is_true", "is_false"):
            return f"{subject} {words}"
        if op == "in":
            return f"{subject} {words} {', '.join(str(v) for v in values)}"
        if op == "between" and len(values) == 2:
            return f"{subject} {words} {values[0]} and {values[1]}"
        if op == "within_last_days":
            return f"{subject} {words} {self.days(value)}"
        return f"{subject} {words} {value}"

    def window(self, window) -> str:
        if not window:
            return ""
        if "last_days" in window:
            return f" in the last {self.days(window['last_days'])}"
        return f" between {window.get('from')} and {window.get('to')}"

    def where(self, filters) -> str:
        if not filters:
            return ""
        return " where " + " and ".join(self.comparison(f["property"], f) for f in filters)

    def node(self, node: dict) -> str:
        kind = node.get("type")
        if kind == "group":
            parts = [self.node(child) for child in node.get("children") or []]
            match = node.get("match", "all")
            if match == "all":
                return " · ".join(parts) if len(parts) > 1 else (parts[0] if parts else "")
            return f"{MATCH_WORDS.get(match, match)} ({'; '.join(parts)})"
        condition = TYPES.get(kind) if isinstance(kind, str) else None
        return condition.describe(self, node) if condition else str(kind)


def describe(rule: dict | None) -> str:
    """The whole rule in one line; "" for an empty rule (an uploaded list)."""
    root = (rule or {}).get("root")
    return Describer().node(root) if root else ""


# --- explanation ---------------------------------------------------------------------------


@dataclass
class Explained:
    kind: str  # "group" or the condition type
    text: str  # the condition (or group) in words
    passed: bool
    detail: str = ""  # what the profile actually has
    match: str = ""  # groups: all / any / none
    children: list[Explained] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.kind == "group"


@dataclass
class Explanation:
    root: Explained | None
    matches: bool  # the whole rule, evaluated as the membership evaluates it
    profile_found: bool = True


class Explainer:
    def __init__(self, profile: Profile, *, now: datetime | None = None, masker: Masker = CLEAR):
        self.profile = profile
        self.masker = masker  # what the viewer may see of personal traits
        self.now = now or timezone.now()
        self.compiler = compiler.Compiler(now=self.now)
        self.words = Describer()

    def holds(self, node: dict) -> bool:
        return (
            compiler.active_profiles()
            .filter(pk=self.profile.pk)
            .filter(self.compiler.node(node))
            .exists()
        )

    def node(self, node: dict) -> Explained:
        if node.get("type") == "group":
            children = [self.node(child) for child in node.get("children") or []]
            match = node.get("match", "all")
            results = [c.passed for c in children]
            if match == "all":
                passed = all(results)
            elif match == "any":
                passed = any(results)
            else:
                passed = not any(results)
            met = sum(results)
            detail = f"{met} of {len(children)} met"
            return Explained(
                kind="group",
                text=MATCH_WORDS.get(match, match),
                passed=passed,
                detail=detail,
                match=match,
                children=children,
            )
        return Explained(
            kind=node["type"],
            text=self.words.node(node),
            passed=self.holds(node),
            detail=TYPES[node["type"]].explain(self, node),
        )

    # What the profile has: the pieces the condition types' ``explain`` share ----------

    def value(self, container: dict, key: str) -> str:
        """What the profile has at ``key``, masked if a personal trait the viewer may not
        see (profiles.masking)."""
        if key not in (container or {}):
            return "not set"
        value = container[key]
        return "empty" if value is None or value == "" else f"“{self.masker.trait(key, value)}”"

    def count(self, step: dict, window) -> int:
        return (
            self.compiler.events(step["name"], step.get("where"), window)
            .filter(profile_id=self.profile.pk)
            .count()
        )

    def from_sources(self, which: Q) -> str:
        events = ProfileEvent.objects.filter(which, profile_id=self.profile.pk).count()
        traits = TraitValue.objects.filter(which, profile_id=self.profile.pk).count()
        return f"{events} event{'s' if events != 1 else ''}, {traits} trait value" + (
            "s." if traits != 1 else "."
        )


def explain(
    *, rule: dict, profile_id: int, now: datetime | None = None, masker: Masker = CLEAR
) -> Explanation:
    """The rule as a tree of conditions, each with passed True/False for this profile and
    what the profile has (personal traits masked as the viewer's ``masker`` says; the
    pages pass it). ``matches`` is the whole rule as the membership evaluates it."""
    profile = Profile.objects.filter(pk=profile_id).first()
    root = (rule or {}).get("root")
    if profile is None:
        return Explanation(root=None, matches=False, profile_found=False)
    if not root:
        return Explanation(root=None, matches=False)
    explainer = Explainer(profile, now=now, masker=masker)
    tree = explainer.node(root)
    matches = explainer.holds(root)
    return Explanation(root=tree, matches=matches)
