"""Deterministic identity resolution of one batch, planned in memory.

The pipeline locks the batch's identifiers and the profiles they point at, loads them,
and hands them to ``BatchResolver``, which decides per event, strongest identifier
first: which profile the event belongs to, which unknown identifiers join it, and which
profiles merge. Nothing here writes; ``writes.apply_plan`` does, in the same transaction.

Rules (identity rules are edited by admins, see identifiers.Rules):
- the event belongs to the profile of its strongest known identifier, unless a stronger
  unknown identifier cannot join that profile (a limit), which then starts a new one;
- an unknown identifier joins the event's profile while its kind is under its limit;
  beyond it, it is not attached (the lower-priority identifier gives way, no merge);
- two profiles merge when one event links them, unless together they would exceed the
  limit of a kind at least as strong as the linking identifier: one anonymous id or
  e-mail seen with two user ids never merges two known customers;
- the older profile survives a merge.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from .identifiers import Ident, Refused


@dataclass
class Owner:
    identity_id: int  # negative: created in this batch, not yet inserted
    profile_id: int


@dataclass
class NewIdentity:
    temp_id: int
    kind_id: int
    value: str
    profile_id: int
    source_id: int
    attached_via: int | None
    seen_at: datetime
    verified: bool = True


@dataclass
class PlannedMerge:
    survivor: int
    merged: int
    identity_id: int
    event_id: int


@dataclass
class Assignment:
    event: dict
    profile_id: int  # the profile when the event was resolved (merges move it later)
    identity_id: int


@dataclass
class Plan:
    new_profiles: list[int] = field(default_factory=list)
    new_identities: list[NewIdentity] = field(default_factory=list)
    merges: list[PlannedMerge] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    unresolved: list[tuple[dict, str]] = field(default_factory=list)
    refused: list[tuple[int, int, Refused]] = field(default_factory=list)  # profile, event
    seen: dict[int, datetime] = field(default_factory=dict)  # existing identity -> latest
    parent: dict[int, int] = field(default_factory=dict)  # merged -> survivor

    def root(self, profile_id: int) -> int:
        while profile_id in self.parent:
            profile_id = self.parent[profile_id]
        return profile_id


def _age(profile_id: int) -> tuple[int, int]:
    # Existing profiles are older than new ones; new ones (negative) in creation order.
    return (0, profile_id) if profile_id > 0 else (1, -profile_id)


class BatchResolver:
    def __init__(
        self, *, kinds: list, owners: dict[tuple[int, str], Owner], counts: dict[int, Counter]
    ):
        self.kinds = kinds  # every KindRule, for the merge limit check
        self.owners = owners
        self.counts = counts
        self.plan = Plan()
        self._temp = itertools.count(-1, -1)

    def resolve(self, event: dict, idents: list[Ident]) -> None:
        if not idents:
            self.plan.unresolved.append((event, "no usable identifier"))
            return
        anchor, pending = None, []
        for ident in idents:
            owner = self.owners.get(ident.key)
            if owner is not None:
                profile = self.plan.root(owner.profile_id)
                if anchor is None:
                    anchor = self._anchor_at(profile, pending, owner, ident, event)
                    pending = []
                elif profile != anchor:
                    anchor = self._merge(anchor, profile, owner, ident, event)
            elif ident.lookup_only:
                continue
            elif anchor is None:
                pending.append(ident)
            else:
                self._attach(anchor, ident, event, via=self._via(event, idents, anchor))
        # An alias's previousId that matched nothing is kept as a former (anonymous) id.
        former = [i for i in idents if i.lookup_only and i.kind.name == "anonymous_id"]
        if former and not any(i.lookup_only and i.key in self.owners for i in idents):
            if anchor is None:
                pending += former
            else:
                self._attach(anchor, former[0], event, via=self._via(event, idents, anchor))
        if anchor is None:
            anchor = self._new_profile()
            self._attach_all(anchor, pending, event, via=None)
        identity_id = self._via(event, idents, anchor)
        self.plan.assignments.append(Assignment(event, anchor, identity_id))
        self._touch(idents, event)

    def _anchor_at(self, profile, pending: list[Ident], owner: Owner, cause: Ident, event) -> int:
        if self._fits(profile, pending):
            self._attach_all(profile, pending, event, via=owner.identity_id)
            return profile
        # A stronger unknown identifier cannot join: it starts its own profile, which
        # merges with the known one only where the rules allow.
        anchor = self._new_profile()
        self._attach_all(anchor, pending, event, via=None)
        return self._merge(anchor, profile, owner, cause, event)

    def _fits(self, profile: int, idents: list[Ident]) -> bool:
        wanted = Counter(i.kind.id for i in idents)
        counts = self.counts.setdefault(profile, Counter())
        for ident in idents:
            limit = ident.kind.limit
            if limit is not None and counts[ident.kind.id] + wanted[ident.kind.id] > limit:
                return False
        return True

    def _merge(self, a: int, b: int, owner: Owner, cause: Ident, event: dict) -> int:
        counts_a = self.counts.setdefault(a, Counter())
        counts_b = self.counts.setdefault(b, Counter())
        for kind in self.kinds:
            if kind.limit is None or kind.priority < cause.kind.priority:
                continue
            if counts_a[kind.id] + counts_b[kind.id] > kind.limit:
                why = f"would give one profile two {kind.name}s"
                refusal = Refused(cause.kind.name, cause.value, why)
                self.plan.refused.append((a, event["id"], refusal))
                return a
        survivor, merged = sorted((a, b), key=_age)
        self.plan.parent[merged] = survivor
        self.counts[survivor] = counts_a + counts_b
        self.plan.merges.append(PlannedMerge(survivor, merged, owner.identity_id, event["id"]))
        return survivor

    def _attach_all(self, profile: int, idents: list[Ident], event: dict, via) -> None:
        for ident in idents:
            via = self._attach(profile, ident, event, via=via) or via

    def _attach(self, profile: int, ident: Ident, event: dict, *, via) -> int | None:
        counts = self.counts.setdefault(profile, Counter())
        limit = ident.kind.limit
        if limit is not None and counts[ident.kind.id] >= limit:
            why = f"profile already holds {limit} {ident.kind.name}"
            self.plan.refused.append(
                (profile, event["id"], Refused(ident.kind.name, ident.value, why))
            )
            return None
        temp_id = next(self._temp)
        counts[ident.kind.id] += 1
        self.owners[ident.key] = Owner(temp_id, profile)
        self.plan.new_identities.append(
            NewIdentity(
                temp_id,
                ident.kind.id,
                ident.value,
                profile,
                event["source_id"],
                via,
                event["timestamp"],
                ident.verified,
            )
        )
        return temp_id

    def _new_profile(self) -> int:
        profile = next(self._temp)
        self.plan.new_profiles.append(profile)
        self.counts[profile] = Counter()
        return profile

    def _via(self, event: dict, idents: list[Ident], anchor: int) -> int | None:
        """The event's strongest identifier that belongs to its profile."""
        for ident in idents:
            owner = self.owners.get(ident.key)
            if owner is not None and self.plan.root(owner.profile_id) == self.plan.root(anchor):
                return owner.identity_id
        return None

    def _touch(self, idents: list[Ident], event: dict) -> None:
        for ident in idents:
            owner = self.owners.get(ident.key)
            if owner is not None and owner.identity_id > 0:
                seen = self.plan.seen.get(owner.identity_id)
                if seen is None or event["timestamp"] > seen:
                    self.plan.seen[owner.identity_id] = event["timestamp"]
