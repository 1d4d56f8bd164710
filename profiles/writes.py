"""Writing a resolution plan: new profiles and identities, resolved events, merges.

Order matters: rows are inserted on the profile they were resolved to, then the merges
move everything the merged profiles hold, so that each merge's ledger row lists exactly
the identities it moved (an unmerge moves those back).
"""

from __future__ import annotations

from django.utils import timezone

from .resolution import Plan
from .sql import execute, next_ids, rows, to_json
from .touches import touch_of

INSERT_PROFILES = """
INSERT INTO profiles_profile (id, display_name, stage, traits, computed, consent,
                              created_at, updated_at)
SELECT id, '', '', '{}', '{}', '{}', %s, %s FROM unnest(%s::bigint[]) AS id
"""
INSERT_IDENTITIES = """
INSERT INTO profiles_identity (id, kind_id, value, profile_id, source_id, attached_via_id,
                               first_seen_at, last_seen_at, created_at, verified)
SELECT id, kind_id, value, profile_id, source_id, via, seen, seen, %s, verified
FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[],
            %s::timestamptz[], %s::boolean[])
     AS t(id, kind_id, value, profile_id, source_id, via, seen, verified)
"""
TOUCH_IDENTITIES = """
UPDATE profiles_identity i SET last_seen_at = GREATEST(i.last_seen_at, t.seen)
FROM unnest(%s::bigint[], %s::timestamptz[]) AS t(id, seen) WHERE i.id = t.id
"""
INSERT_EVENTS = """
INSERT INTO profiles_profileevent (event_id, received_at, profile_id, identity_id, source_id,
                                   type, name, "timestamp", properties, context)
SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::bigint[], %s::bigint[],
                     %s::text[], %s::text[], %s::timestamptz[], %s::jsonb[], %s::jsonb[])
ON CONFLICT (event_id) DO NOTHING
"""
INSERT_UNRESOLVED = """
INSERT INTO profiles_unresolvedevent (event_id, received_at, source_id, reason, created_at)
SELECT *, now() FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::text[])
ON CONFLICT (event_id) DO NOTHING
"""
INSERT_REFUSALS = """
INSERT INTO profiles_linkrefusal (profile_id, event_id, kind, value, reason, created_at)
SELECT *, now() FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[])
"""
HOLDINGS = "SELECT id, profile_id FROM profiles_identity WHERE profile_id = ANY(%s)"
# Rows that follow a profile without an identity: the ledger lists them by id.
IDENTITYLESS = {
    "profiles_consentrecord": "SELECT id, profile_id FROM profiles_consentrecord "
    "WHERE profile_id = ANY(%s) AND identity_id IS NULL",
    "profiles_note": "SELECT id, profile_id FROM profiles_note WHERE profile_id = ANY(%s)",
    "profiles_traitrectification": "SELECT id, profile_id FROM profiles_traitrectification "
    "WHERE profile_id = ANY(%s)",
}
# Tables whose rows follow their profile through a merge.
FOLLOWING_TABLES = (
    "profiles_identity",
    "profiles_profileevent",
    "profiles_traitvalue",
    "profiles_consentrecord",
    "profiles_note",
    "profiles_traitrectification",
)
MOVE_SQL = """
UPDATE {table} t SET profile_id = m.survivor
FROM unnest(%s::bigint[], %s::bigint[]) AS m(merged, survivor) WHERE t.profile_id = m.merged
"""
MARK_MERGED = """
UPDATE profiles_profile p SET merged_into_id = m.survivor, updated_at = now()
FROM unnest(%s::bigint[], %s::bigint[]) AS m(merged, survivor) WHERE p.id = m.merged
"""
INSERT_MERGES = """
INSERT INTO profiles_merge (survivor_id, merged_id, reason, identity_id, event_id,
                            identity_ids, moved_facts, created_at)
SELECT s, m, 'rule', i, e, ARRAY(SELECT jsonb_array_elements_text(ids)::bigint), f, %s
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::jsonb[], %s::jsonb[])
     AS t(s, m, i, e, ids, f)
"""


NAME_LENGTH = 200  # profiles_profileevent.name


def event_name(event: dict) -> str:
    # The collection API refuses longer names; events stored before it did are cut here.
    if event["type"] == "track":
        return (event["event"] or "")[:NAME_LENGTH]
    payload = event["payload"]
    properties = payload.get("properties")
    page_name = properties.get("name") if isinstance(properties, dict) else None
    return str(payload.get("name") or page_name or "")[:NAME_LENGTH]


def _touch_json(payload: dict) -> str | None:
    touch = touch_of(payload)
    return to_json(touch) if touch else None


class PlanWriter:
    """Turns the plan's temporary (negative) ids into real ones and writes it."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.ids: dict[int, int] = {}

    def real(self, any_id: int | None) -> int | None:
        return self.ids.get(any_id, any_id) if any_id is not None else None

    def write(self) -> None:
        plan, now = self.plan, timezone.now()
        profile_ids = next_ids("profiles_profile_id_seq", len(plan.new_profiles))
        identity_ids = next_ids("profiles_identity_id_seq", len(plan.new_identities))
        self.ids.update(zip(plan.new_profiles, profile_ids, strict=True))
        self.ids.update(zip((n.temp_id for n in plan.new_identities), identity_ids, strict=True))
        if profile_ids:
            execute(INSERT_PROFILES, [now, now, profile_ids])
        self._insert_identities(now)
        if plan.seen:
            execute(TOUCH_IDENTITIES, [list(plan.seen), list(plan.seen.values())])
        self._insert_events()
        self._insert_unresolved()
        self._insert_refusals()

    def _insert_refusals(self) -> None:
        refused = self.plan.refused
        if refused:
            execute(
                INSERT_REFUSALS,
                [
                    [self.real(self.plan.root(p)) for p, _, _ in refused],
                    [e for _, e, _ in refused],
                    [r.kind for _, _, r in refused],
                    [r.value for _, _, r in refused],
                    [r.reason for _, _, r in refused],
                ],
            )

    def _insert_identities(self, now) -> None:
        new = self.plan.new_identities
        if not new:
            return
        execute(
            INSERT_IDENTITIES,
            [
                now,
                [self.real(n.temp_id) for n in new],
                [n.kind_id for n in new],
                [n.value for n in new],
                [self.real(n.profile_id) for n in new],
                [n.source_id for n in new],
                [self.real(n.attached_via) for n in new],
                [n.seen_at for n in new],
                [n.verified for n in new],
            ],
        )

    def _insert_events(self) -> None:
        done = self.plan.assignments
        if not done:
            return
        execute(
            INSERT_EVENTS,
            [
                [a.event["id"] for a in done],
                [a.event["received_at"] for a in done],
                [self.real(a.profile_id) for a in done],
                [self.real(a.identity_id) for a in done],
                [a.event["source_id"] for a in done],
                [a.event["type"] for a in done],
                [event_name(a.event) for a in done],
                [a.event["timestamp"] for a in done],
                [to_json(a.event["payload"].get("properties") or {}) for a in done],
                [_touch_json(a.event["payload"]) for a in done],
            ],
        )

    def _insert_unresolved(self) -> None:
        items = self.plan.unresolved
        if items:
            execute(
                INSERT_UNRESOLVED,
                [
                    [e["id"] for e, _ in items],
                    [e["received_at"] for e, _ in items],
                    [e["source_id"] for e, _ in items],
                    [why for _, why in items],
                ],
            )

    def apply_merges(self) -> None:
        merges = self.plan.merges
        if not merges:
            return
        merged_ids = [self.real(m.merged) for m in merges]
        ledger = [[] for _ in merges]
        facts = [{} for _ in merges]
        for table, sql in (("profiles_identity", HOLDINGS), *IDENTITYLESS.items()):
            moved = follow_chain(
                rows(sql, [merged_ids]),
                [(self.real(m.survivor), self.real(m.merged)) for m in merges],
            )
            for i, ids in enumerate(moved):
                if table == "profiles_identity":
                    ledger[i] = ids
                elif ids:
                    facts[i][table] = ids
        roots = [self.real(self.plan.root(m.merged)) for m in merges]
        for table in FOLLOWING_TABLES:
            execute(MOVE_SQL.format(table=table), [merged_ids, roots])
        execute(MARK_MERGED, [merged_ids, [self.real(m.survivor) for m in merges]])
        execute(
            INSERT_MERGES,
            [
                timezone.now(),
                [self.real(m.survivor) for m in merges],
                merged_ids,
                [self.real(m.identity_id) for m in merges],
                [m.event_id for m in merges],
                [to_json(ids) for ids in ledger],
                [to_json(f) for f in facts],
            ],
        )


def follow_chain(found: list[tuple[int, int]], merges: list[tuple[int, int]]) -> list[list[int]]:
    """Which of the ``found`` (row id, profile id) rows each merge (survivor, merged) moves,
    in order: a chain A→B→C lists A's rows again under B→C."""
    holdings: dict[int, list[int]] = {}
    for row_id, profile_id in found:
        holdings.setdefault(profile_id, []).append(row_id)
    moved = []
    for survivor, merged in merges:
        rows_of_merged = holdings.pop(merged, [])
        holdings.setdefault(survivor, []).extend(rows_of_merged)
        moved.append(sorted(rows_of_merged))
    return moved
