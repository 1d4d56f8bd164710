"""The processing step that turns stored events into profiles, read top to bottom.

Runs inside integrations.processing's batch transaction (listed in
settings.COLLECT_PROCESSING_STEPS): if anything fails, the whole batch rolls back with
its claim and is processed again, so every step here is safe to repeat.

Concurrency: the batch first takes a transaction-scoped advisory lock per identifier it
carries (sorted, so two workers never wait on each other in a cycle), then checks the
suppression list (an erasure takes the same locks), then row locks on the profiles those
identifiers point at. Two workers resolving the same person therefore
take turns, and the second one sees the first one's profile: no duplicate profiles, no
lost identifier.
"""

from __future__ import annotations

import json
from collections import Counter

from django.conf import settings

from integrations.suppression import services as suppression

from . import attribution, computed, stage_history, stages, trust
from .changes import ChangeSet
from .consent import ConsentCollector, summarise
from .identifiers import identifiers_of, load_rules
from .resolution import BatchResolver, Owner
from .sql import execute, rows
from .survivorship import TraitCollector, recompute_current_traits
from .touches import is_backfill
from .writes import PlanWriter, event_name

LOCK_IDENTIFIERS = """
SELECT count(pg_advisory_xact_lock(h)) FROM (
    SELECT DISTINCT hashtextextended(k, 4) AS h FROM unnest(%s::text[]) AS k ORDER BY h
) AS keys
"""
LOOKUP = """
SELECT i.kind_id, i.value, i.id, i.profile_id FROM profiles_identity i
JOIN unnest(%s::bigint[], %s::text[]) AS k(kind_id, value)
  ON i.kind_id = k.kind_id AND i.value = k.value
"""
LOCK_PROFILES = "SELECT id, consent FROM profiles_profile WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
COUNTS = """
SELECT profile_id, kind_id, count(*) FROM profiles_identity
WHERE profile_id = ANY(%s) GROUP BY profile_id, kind_id
"""
ANONYMOUS_KIND = "SELECT id FROM profiles_identifierkind WHERE name = 'anonymous_id'"
KNOWN = """
SELECT DISTINCT i.profile_id FROM profiles_identity i
JOIN profiles_identifierkind k ON k.id = i.kind_id
WHERE i.profile_id = ANY(%s) AND i.verified AND k.name <> 'anonymous_id'
"""
SEEN = """
UPDATE profiles_profile p SET
    first_seen_at = (SELECT min(e."timestamp") FROM profiles_profileevent e
                     WHERE e.profile_id = p.id),
    last_seen_at = (SELECT max(e."timestamp") FROM profiles_profileevent e
                    WHERE e.profile_id = p.id)
WHERE p.id = ANY(%s)
"""


def resolve_batch(batch) -> None:
    events = batch.events()
    rules = load_rules()
    found = {e["id"]: identifiers_of(e, rules)[0] for e in events}
    # Locked before the suppression check: an erasure holds these locks until it commits
    # its suppressions (privacy/services.py), so a batch carrying the person's identifiers
    # either runs before it (and is erased with the person) or finds them suppressed.
    lock_identifiers(sorted({i.key for idents in found.values() for i in idents}))
    events = without_suppressed(events, found)
    keys = sorted({i.key for idents in found.values() for i in idents})

    owners, consent_now = lock_and_load(keys)
    counts = identity_counts({o.profile_id for o in owners.values()})
    resolver = BatchResolver(kinds=list(rules.kinds.values()), owners=owners, counts=counts)
    for event in events:
        resolver.resolve(event, found[event["id"]])
    plan = resolver.plan

    traits = TraitCollector()
    consent = ConsentCollector(current=consent_now, known=known_customers(events, plan))
    for merge in plan.merges:
        consent.merge_state(plan.root(merge.survivor), merge.merged)
    changes = ChangeSet()
    for a in plan.assignments:
        root = plan.root(a.profile_id)
        if traits.add_event(a.event, profile_id=root, identity_id=a.identity_id):
            changes.add(root, "traits")
        if consent.add_event(a.event, profile_id=root, identity_id=a.identity_id):
            changes.add(root, "consent")
        changes.add(root, "events", event_names=[event_name(a.event), a.event["type"]])
        changes.came_from(root, backfill=is_backfill(a.event["payload"]))

    writer = PlanWriter(plan)
    writer.write()
    traits.write(writer.real)
    consent.write(writer.real)
    writer.apply_merges()

    record_structure_changes(plan, changes)
    changes.remap(writer.real)
    refresh_profiles(
        changes,
        identifier_traits=rules.trait_kinds,
        events=[a.event["id"] for a in plan.assignments],
    )
    changes.emit()


def without_suppressed(events: list[dict], found: dict[int, list]) -> list[dict]:
    """The events none of whose identifiers belongs to an erased person. The others are
    dropped here, their raw rows deleted (integrations' suppression list; the door turns
    most away, this is the exact check), and left out of ``found``."""
    hit = suppression.suppressed_among(i.value for idents in found.values() for i in idents)
    if not hit:
        return events
    dropped = [e for e in events if any(i.value in hit for i in found[e["id"]])]
    suppression.discard(events=dropped)
    for event in dropped:
        del found[event["id"]]
    gone = {e["id"] for e in dropped}
    return [e for e in events if e["id"] not in gone]


def lock_identifiers(keys: list[tuple[int, str]]) -> None:
    """The transaction's advisory lock on each identifier (kind id, value), taken in one
    order by everyone who takes them: processing, and an erasure of the person."""
    if keys:
        execute(LOCK_IDENTIFIERS, [[f"{kind}:{value}" for kind, value in keys]])


def lock_and_load(keys: list[tuple[int, str]]) -> tuple[dict, dict[int, dict]]:
    """Reads the identifiers (locked: ``lock_identifiers``), locks the profiles they point
    at, and reads those; a merge or unmerge that committed while we waited moves
    identities, so read until stable."""
    if not keys:
        return {}, {}
    locked: dict[int, dict] = {}
    while True:
        owners = {
            (kind, value): Owner(identity_id, profile_id)
            for kind, value, identity_id, profile_id in rows(
                LOOKUP, [[k for k, _ in keys], [v for _, v in keys]]
            )
        }
        missing = sorted({o.profile_id for o in owners.values()} - set(locked))
        if not missing:
            return owners, locked
        # Django's connection hands jsonb over as text.
        locked.update((pid, json.loads(c)) for pid, c in rows(LOCK_PROFILES, [missing]))


def known_customers(events: list[dict], plan) -> frozenset[int]:
    """The batch's profiles (by root) holding a verified identifier that is not an
    anonymous id; only asked when an event's consent grants depend on it."""
    if not any(trust.grants_need_a_verified_link(e) for e in events):
        return frozenset()
    anonymous = {pk for (pk,) in rows(ANONYMOUS_KIND)}
    known = {
        plan.root(n.profile_id)
        for n in plan.new_identities
        if n.verified and n.kind_id not in anonymous
    }
    # Existing profiles under their ids before this batch (a merge in it may have made
    # one the root of another), each mapped to its root.
    touched = {a.profile_id for a in plan.assignments} | set(plan.parent)
    existing = sorted(p for p in touched | set(plan.parent.values()) if p > 0)
    found = rows(KNOWN, [existing]) if existing else []
    return frozenset(known | {plan.root(pid) for (pid,) in found})


def identity_counts(profile_ids: set[int]) -> dict[int, Counter]:
    counts: dict[int, Counter] = {}
    if profile_ids:
        for profile_id, kind_id, n in rows(COUNTS, [sorted(profile_ids)]):
            counts.setdefault(profile_id, Counter())[kind_id] = n
    return counts


def record_structure_changes(plan, changes: ChangeSet) -> None:
    for profile_id in plan.new_profiles:
        changes.add(plan.root(profile_id), "created")
    for new in plan.new_identities:
        changes.add(plan.root(new.profile_id), "identities")
    for merge in plan.merges:
        changes.add(plan.root(merge.survivor), "merged", merged=[merge.merged])
        changes.add(merge.merged, "merged_away", into=plan.root(merge.survivor))
        # What merged it away came with its survivor's messages.
        changes.came_from(merge.merged, backfill=changes.is_backfill(plan.root(merge.survivor)))


def refresh_profiles(changes: ChangeSet, *, identifier_traits=None, events=()) -> None:
    """Derived state of every changed profile: seen times, current traits, consent,
    computed traits, first and last touch (for the profiles ``events``, the batch's
    event ids, brought context to) and stage."""
    alive = [p for p, k in changes.kinds.items() if "merged_away" not in k]
    with_kind = lambda *kinds: [p for p in alive if changes.kinds[p] & set(kinds)]  # noqa: E731
    reshaped = ("merged", "unmerged")
    execute(SEEN, [with_kind("events", *reshaped)])
    recompute_current_traits(with_kind("traits", *reshaped), identifier_traits=identifier_traits)
    summarise(with_kind("consent", *reshaped))
    touched = with_kind("events", *reshaped)
    if computed.recompute(touched):
        changes.add_many(touched, "computed")
    touches = attribution.refresh(profile_ids=with_kind(*reshaped), event_ids=events)
    changes.add_many(touches, "computed")
    refresh_stages(changes, touched=touched, regrouped=set(with_kind(*reshaped)))


def refresh_stages(changes: ChangeSet, *, touched: list[int], regrouped: set[int]) -> None:
    """A merge or an unmerge changes which events a profile has, and so its whole journey:
    its history is replayed (the merged-away profile's is dropped, being part of the
    survivor's now). Every other touched profile moves on from where it is, or is replayed
    too when the batch carried it past a stage. With settings.PROFILES_STAGE_HISTORY off
    (the throughput benchmark's baseline) only the current stage is kept, from the
    aggregate: no history is recorded or replayed."""
    if not settings.PROFILES_TRACK_STAGES:  # the benchmark's: the cost of this whole step
        return
    if not settings.PROFILES_STAGE_HISTORY:  # the benchmark's baseline: the current stage only
        changes.add_many(stages.update(touched, history=False), "stage")
        return
    moved = stages.update(
        touched,
        replay=stage_history.moves,
        regrouped=sorted(regrouped),
        forgotten=[p for p, k in changes.kinds.items() if "merged_away" in k],
    )
    changes.add_many(moved, "stage")
