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
from profiles.models import Identity, Profile, ProfileEvent, TraitValue

from . import compiler
from .models import Membership, Segment

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
COUNT_WORDS = {"at_least": "at least", "at_most": "at most", "exactly": "exactly"}
MATCH_WORDS = {"all": "all of", "any": "any of", "none": "none of"}


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


class Describer:
    """Words for rule nodes; looks up segment and source names once each."""

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
            return f"{subject} {words} {_days(value)}"
        return f"{subject} {words} {value}"

    def window(self, window) -> str:
        if not window:
            return ""
        if "last_days" in window:
            return f" in the last {_days(window['last_days'])}"
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
        method = getattr(self, f"d_{kind}", None)
        return method(node) if method else str(kind)

    def d_trait(self, node: dict) -> str:
        return self.comparison(node.get("key", "?"), node)

    def d_computed(self, node: dict) -> str:
        return self.comparison(f"{node.get('key', '?')} (computed)", node)

    def d_event(self, node: dict) -> str:
        name, count = node.get("name", "?"), node.get("count")
        if count:
            what = f"{name} {COUNT_WORDS.get(count['op'], count['op'])} {_times(count['value'])}"
        else:
            what = name
        what += self.where(node.get("where")) + self.window(node.get("window"))
        if not node.get("did", True):
            return f"did not {what}"
        return what if count else f"did {what}"

    def d_sequence(self, node: dict) -> str:
        first, then = node.get("first") or {}, node.get("then") or {}
        return (
            f"{first.get('name', '?')}{self.where(first.get('where'))} then "
            f"{then.get('name', '?')}{self.where(then.get('where'))} within "
            f"{_days(node.get('within_days', 0))}{self.window(node.get('window'))}"
        )

    def d_stage(self, node: dict) -> str:
        labels = dict(Profile._meta.get_field("stage").choices)
        return "stage is " + " or ".join(str(labels.get(s, s)) for s in node.get("in") or [])

    def d_segment(self, node: dict) -> str:
        name = self.segment_name(node.get("segment_id"))
        verb = "is" if node.get("member", True) else "is not"
        return f"{verb} in segment “{name}”"

    def d_consent(self, node: dict) -> str:
        return f"consent for {node.get('purpose')} is {node.get('status', 'granted')}"

    def d_identifier(self, node: dict) -> str:
        return f"has a {node.get('kind')} identifier"

    def d_source(self, node: dict) -> str:
        return f"has data from “{self.source_name(node.get('source_id'))}”"

    def d_party(self, node: dict) -> str:
        return f"has {node.get('party')}-party data"


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
    def __init__(self, profile: Profile, *, now: datetime | None = None):
        self.profile = profile
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
        method = getattr(self, f"x_{node['type']}", None)
        return Explained(
            kind=node["type"],
            text=self.words.node(node),
            passed=self.holds(node),
            detail=method(node) if method else "",
        )

    # What the profile has, per kind of condition --------------------------------------

    @staticmethod
    def _value(container: dict, key: str) -> str:
        if key not in (container or {}):
            return "not set"
        value = container[key]
        return "empty" if value is None or value == "" else f"“{value}”"

    def x_trait(self, node: dict) -> str:
        return f"Their {node['key']}: {self._value(self.profile.traits, node['key'])}."

    def x_computed(self, node: dict) -> str:
        return f"Their {node['key']}: {self._value(self.profile.computed, node['key'])}."

    def _count(self, step: dict, window) -> int:
        return (
            self.compiler.events(step["name"], step.get("where"), window)
            .filter(profile_id=self.profile.pk)
            .count()
        )

    def x_event(self, node: dict) -> str:
        n = self._count(node, node.get("window"))
        span = self.words.window(node.get("window")) or " ever"
        return f"{node['name']}: {_times(n) if n else 'never'}{span}."

    def x_sequence(self, node: dict) -> str:
        window = node.get("window")
        first, then = self._count(node["first"], window), self._count(node["then"], window)
        span = self.words.window(window) or " ever"
        return (
            f"{node['first']['name']}: {_times(first) if first else 'never'}, "
            f"{node['then']['name']}: {_times(then) if then else 'never'}{span}."
        )

    def x_stage(self, node: dict) -> str:
        return f"Their stage: {self.profile.get_stage_display() or 'not yet known'}."

    def x_segment(self, node: dict) -> str:
        row = Membership.objects.filter(
            segment_id=node["segment_id"], profile_id=self.profile.pk
        ).first()
        if row is None:
            return "Not a member."
        return f"Member since {timezone.localtime(row.entered_at):%Y-%m-%d %H:%M}."

    def x_consent(self, node: dict) -> str:
        state = (self.profile.consent or {}).get(node["purpose"]) or {}
        return f"Their consent: {state.get('status') or 'no statement'}."

    def x_identifier(self, node: dict) -> str:
        n = Identity.objects.filter(profile_id=self.profile.pk, kind__name=node["kind"]).count()
        return f"{n} {node['kind']} identifier{'s' if n != 1 else ''}."

    def _from_sources(self, which: Q) -> str:

        events = ProfileEvent.objects.filter(which, profile_id=self.profile.pk).count()
        traits = TraitValue.objects.filter(which, profile_id=self.profile.pk).count()
        return f"{events} event{'s' if events != 1 else ''}, {traits} trait value" + (
            "s." if traits != 1 else "."
        )

    def x_source(self, node: dict) -> str:
        return self._from_sources(Q(source_id=node["source_id"]))

    def x_party(self, node: dict) -> str:
        return self._from_sources(Q(source__party=node["party"]))


def explain(*, rule: dict, profile_id: int, now: datetime | None = None) -> Explanation:
    """The rule as a tree of conditions, each with passed True/False for this profile and
    what the profile has. ``matches`` is the whole rule as the membership evaluates it."""
    profile = Profile.objects.filter(pk=profile_id).first()
    root = (rule or {}).get("root")
    if profile is None:
        return Explanation(root=None, matches=False, profile_found=False)
    if not root:
        return Explanation(root=None, matches=False)
    explainer = Explainer(profile, now=now)
    tree = explainer.node(root)
    matches = explainer.holds(root)
    return Explanation(root=tree, matches=matches)
