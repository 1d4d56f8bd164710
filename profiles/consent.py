"""Consent per profile and purpose: statements taken from events, imports and the UI,
and the one question later issues ask: ``may_use(profile, purpose)``.

A statement is recorded only when it changes the profile's state for that purpose
(the website snippet repeats its preferences on every event). ``True`` grants; ``False``
withdraws a granted consent and otherwise denies.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import trust
from .identifiers import event_traits
from .sql import execute, rows, to_json

GRANTED, DENIED, WITHDRAWN = "granted", "denied", "withdrawn"

INSERT_RECORDS = """
INSERT INTO profiles_consentrecord (profile_id, identity_id, purpose_id, status, source_id,
                                    recorded_at, evidence, event_id)
SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::bigint[],
                     %s::timestamptz[], %s::jsonb[], %s::bigint[])
"""
SUMMARISE = """
WITH latest AS (
    SELECT DISTINCT ON (c.profile_id, c.purpose_id) c.profile_id, p.slug, c.status,
           c.recorded_at, c.source_id
    FROM profiles_consentrecord c JOIN profiles_consentpurpose p ON p.id = c.purpose_id
    WHERE c.profile_id = ANY(%(ids)s)
    ORDER BY c.profile_id, c.purpose_id, c.recorded_at DESC, c.id DESC
), summary AS (
    SELECT ids.id, coalesce(jsonb_object_agg(l.slug, jsonb_build_object(
               'status', l.status, 'at', l.recorded_at, 'source_id', l.source_id))
           FILTER (WHERE l.slug IS NOT NULL), '{}') AS consent
    FROM unnest(%(ids)s::bigint[]) AS ids(id) LEFT JOIN latest l ON l.profile_id = ids.id
    GROUP BY ids.id
)
UPDATE profiles_profile p SET consent = s.consent FROM summary s WHERE p.id = s.id
"""


def may_use(profile, purpose: str) -> bool:
    """May this person's data be used for ``purpose`` (a ConsentPurpose slug)? Only an
    explicit, current grant says yes: no statement at all is a no."""
    state = (profile.consent or {}).get(purpose) or {}
    return state.get("status") == GRANTED


def next_status(current: str | None, given: bool) -> str | None:
    """The new status, or None when the statement changes nothing."""
    if given:
        return None if current == GRANTED else GRANTED
    if current == GRANTED:
        return WITHDRAWN
    return None if current in (DENIED, WITHDRAWN) else DENIED


def as_bool(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "y", "1", "granted"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "n", "0", "denied"):
        return False
    return None


@dataclass
class Purposes:
    by_category: dict[str, tuple[int, str]]
    by_trait: dict[str, tuple[int, str]]

    @classmethod
    def load(cls) -> Purposes:
        by_category, by_trait = {}, {}
        for pk, slug, categories, traits in rows(
            "SELECT id, slug, category_keys, trait_keys FROM profiles_consentpurpose"
        ):
            by_category.update({k: (pk, slug) for k in categories})
            by_trait.update({k: (pk, slug) for k in traits})
        return cls(by_category, by_trait)


def statements(event: dict, purposes: Purposes) -> list[tuple[int, str, bool, dict]]:
    """(purpose id, slug, given, evidence) for each consent statement the event makes."""
    found = []
    context = event["payload"].get("context")
    prefs = context.get("consent") if isinstance(context, dict) else None
    prefs = prefs.get("categoryPreferences") if isinstance(prefs, dict) else None
    for key, raw in (prefs if isinstance(prefs, dict) else {}).items():
        given = as_bool(raw)
        if key in purposes.by_category and given is not None:
            pk, slug = purposes.by_category[key]
            found.append((pk, slug, given, {"field": f"context.consent.categoryPreferences.{key}"}))
    for traits in event_traits(event):
        for key, (pk, slug) in purposes.by_trait.items():
            given = as_bool(traits.get(key))
            if given is not None:
                found.append((pk, slug, given, {"field": f"traits.{key}"}))
    return found


class ConsentCollector:
    """``known``: profiles of known customers (a verified identifier other than an
    anonymous id). A grant from an unsigned call of a client source that may link
    unverified never reaches them; withdrawals always do (profiles/trust.py)."""

    def __init__(self, *, current: dict[int, dict], known: frozenset[int] = frozenset()):
        self.known = known
        self.purposes = Purposes.load()
        self.state = {pid: {s: v.get("status") for s, v in c.items()} for pid, c in current.items()}
        self.records: list[tuple] = []

    def merge_state(self, survivor: int, merged: int) -> None:
        # The later statement wins after a merge; the summary recomputed from the
        # records decides that exactly, this is only the in-batch change filter.
        into = self.state.setdefault(survivor, {})
        for slug, status in self.state.get(merged, {}).items():
            into.setdefault(slug, status)

    def add_event(self, event: dict, *, profile_id: int, identity_id: int) -> bool:
        changed = False
        guarded = profile_id in self.known and trust.grants_need_a_verified_link(event)
        for pk, slug, given, evidence in statements(event, self.purposes):
            if given and guarded:
                continue
            state = self.state.setdefault(profile_id, {})
            status = next_status(state.get(slug), given)
            if status is None:
                continue
            state[slug] = status
            evidence = {**evidence, "message_id": event["message_id"]}
            self.records.append(
                (
                    profile_id,
                    identity_id,
                    pk,
                    status,
                    event["source_id"],
                    event["timestamp"],
                    evidence,
                    event["id"],
                )
            )
            changed = True
        return changed

    def write(self, real) -> None:
        if self.records:
            r = self.records
            execute(
                INSERT_RECORDS,
                [
                    [real(x[0]) for x in r],
                    [real(x[1]) for x in r],
                    [x[2] for x in r],
                    [x[3] for x in r],
                    [x[4] for x in r],
                    [x[5] for x in r],
                    [to_json(x[6]) for x in r],
                    [x[7] for x in r],
                ],
            )


def summarise(profile_ids: list[int]) -> None:
    if profile_ids:
        execute(SUMMARISE, {"ids": list(profile_ids)})
