"""What a change of identity rules would do, before it is saved.

``dry_run`` replays resolution in memory over every stored event, in id order (the order
processing resolves them), with the proposed rules and the real ``BatchResolver`` starting
from nothing; then it compares the clusters of identifiers it ends with to today's
profiles (the Identity table). Nothing is written.

The figures:
- ``profiles_before``: today's profiles that hold identities;
- ``profiles_after``: the clusters the replay ends with;
- ``merging``: today's profiles whose identifiers would share a profile with another
  of today's profiles;
- ``splitting``: today's profiles whose identifiers would end in two or more profiles.

Identifiers the proposal blocks, or that a limit keeps out, simply drop out of the
comparison. Merges and unmerges made by people are not replayed, so a profile that a
person merged by hand shows as a split.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict

from django.db import connection, transaction

from ..identifiers import KindRule, Rules, identifiers_of, load_rules
from ..resolution import BatchResolver

EVENTS_SQL = """
SELECT e.id, e.source_id, e.type, e.event, e.user_id, e.anonymous_id, e.message_id,
       e."timestamp", e.received_at, e.payload
FROM integrations_event e ORDER BY e.id
"""
IDENTITIES_SQL = "SELECT kind_id, value, profile_id FROM profiles_identity"
CHUNK = 2000
PROGRESS_EVERY = 10_000
RULE_FIELDS = {"priority": "priority", "max_per_profile": "limit"}


@dataclasses.dataclass(frozen=True)
class DryRunResult:
    profiles_before: int
    profiles_after: int
    merging: int
    splitting: int
    events_scanned: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def proposed_rules(
    *, kinds: dict[str, dict] | None = None, blocked: list[tuple[str | None, str]] | None = None
) -> Rules:
    """Today's rules with the proposal applied.

    ``kinds``: {kind name: {"priority": int, "max_per_profile": int | None}}, only the
    keys that change. ``blocked``: the whole proposed list of blocked values as
    (kind name or None for any kind, value); None keeps today's list.
    """
    rules = load_rules()
    by_name = dict(rules.kinds)
    for name, changes in (kinds or {}).items():
        if name not in by_name:
            raise ValueError(f"Unknown identifier kind {name!r}.")
        replaced = {RULE_FIELDS[k]: v for k, v in changes.items() if k in RULE_FIELDS}
        by_name[name] = dataclasses.replace(by_name[name], **replaced)
    blocked_any, blocked_kind = rules.blocked_any, rules.blocked
    if blocked is not None:
        any_set, kind_set = set(), set()
        for kind_name, value in blocked:
            if kind_name is None:
                any_set.add(value.strip().lower())
            elif kind_name in by_name:
                kind_set.add((by_name[kind_name].id, value.strip().lower()))
            else:
                raise ValueError(f"Unknown identifier kind {kind_name!r}.")
        blocked_any, blocked_kind = frozenset(any_set), frozenset(kind_set)
    return Rules(
        kinds=by_name,
        trait_kinds=rules.trait_kinds,
        blocked_any=blocked_any,
        blocked=blocked_kind,
        source_user_kind=rules.source_user_kind,
        phone_region=rules.phone_region,
    )


def _events():
    """Every stored event, in id order, read through a server-side cursor in chunks."""
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(EVENTS_SQL)
        columns = None
        while chunk := cursor.fetchmany(CHUNK):
            if columns is None:
                columns = [col.name for col in cursor.description]
            for row in chunk:
                event = dict(zip(columns, row, strict=True))
                if isinstance(event["payload"], str):
                    event["payload"] = json.loads(event["payload"])
                yield event


def replay(rules: Rules, *, on_progress=None) -> tuple[dict[tuple[int, str], int], int]:
    """{(kind id, value): cluster} after resolving every event under ``rules``;
    ``on_progress(scanned)`` is called every PROGRESS_EVERY events."""
    kinds: list[KindRule] = list(rules.kinds.values())
    resolver = BatchResolver(kinds=kinds, owners={}, counts={})
    scanned = 0
    for event in _events():
        resolver.resolve(event, identifiers_of(event, rules)[0])
        scanned += 1
        plan = resolver.plan
        # Only the owners and the merge tree matter here: drop what would pile up.
        plan.assignments.clear()
        plan.new_identities.clear()
        plan.refused.clear()
        plan.unresolved.clear()
        plan.merges.clear()
        if on_progress and scanned % PROGRESS_EVERY == 0:
            on_progress(scanned)
    plan = resolver.plan
    clusters = {key: plan.root(owner.profile_id) for key, owner in resolver.owners.items()}
    return clusters, scanned


def compare(today: dict[tuple[int, str], int], after: dict[tuple[int, str], int]) -> dict:
    """The figures of a dry run from two {identifier: profile} maps."""
    clusters_of: dict[int, set[int]] = defaultdict(set)  # today's profile -> clusters
    profiles_in: dict[int, set[int]] = defaultdict(set)  # cluster -> today's profiles
    for key, profile in today.items():
        cluster = after.get(key)
        if cluster is None:
            continue
        clusters_of[profile].add(cluster)
        profiles_in[cluster].add(profile)
    merging = {p for members in profiles_in.values() if len(members) > 1 for p in members}
    return {
        "profiles_before": len(set(today.values())),
        "profiles_after": len(set(after.values())),
        "merging": len(merging),
        "splitting": sum(1 for clusters in clusters_of.values() if len(clusters) > 1),
    }


def today_profiles() -> dict[tuple[int, str], int]:
    with connection.cursor() as cursor:
        cursor.execute(IDENTITIES_SQL)
        return {(kind_id, value): profile_id for kind_id, value, profile_id in cursor}


def dry_run(
    *,
    kinds: dict[str, dict] | None = None,
    blocked: list[tuple[str | None, str]] | None = None,
    on_progress=None,
) -> DryRunResult:
    rules = proposed_rules(kinds=kinds, blocked=blocked)
    after, scanned = replay(rules, on_progress=on_progress)
    return DryRunResult(**compare(today_profiles(), after), events_scanned=scanned)


def estimated_events() -> int:
    """The planner's row estimate of the events table (instant, unlike count(*))."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'integrations_event'::regclass"
        )
        return cursor.fetchone()[0]
