"""Trait values with provenance, and the current value chosen among them.

Every value an event states is kept per (identity, source, key, value) with when it was
first and last stated. The current value of a trait is chosen per its TraitKey strategy:
source priority then recency (the default), most recent, or first seen. A value whose
type differs from the trait's and cannot be converted is kept, marked ``conflict``, and
never wins.

Contact fields and identifiers (the e-mail a campaign writes to, a phone, an address, a
CRM id) are chosen among server sources' values first, whatever their recency: a client
source's write key is public, and anyone holding it could otherwise redirect a known
customer's mail to themselves. ``email_confirmed`` says whether the current e-mail was
stated by a server source or a signed call, or confirmed by its owner (profiles/trust.py).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from . import masking, trust
from .identifiers import event_traits
from .sql import execute, rows, to_json

EMPTY_TEXT = frozenset({"", "null", "undefined", "none", "n/a"})
MANUAL_PRIORITY = 1_000_000  # a value a person typed in the UI beats every source
# Beside the identifier kinds' trait keys: where a message or a parcel would go.
CONTACT_TRAITS = ("email", "phone", "mobile", "address")

UPSERT_VALUES = """
INSERT INTO profiles_traitvalue AS t (profile_id, identity_id, source_id, key, value,
    value_hash, conflict, first_seen_at, last_seen_at, event_id, verified)
SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::jsonb[],
                     %s::text[], %s::boolean[], %s::timestamptz[], %s::timestamptz[],
                     %s::bigint[], %s::boolean[])
ON CONFLICT ON CONSTRAINT traitvalue_unique DO UPDATE SET
    profile_id = EXCLUDED.profile_id,
    verified = t.verified OR EXCLUDED.verified,
    first_seen_at = LEAST(t.first_seen_at, EXCLUDED.first_seen_at),
    event_id = CASE WHEN EXCLUDED.last_seen_at >= t.last_seen_at
                    THEN EXCLUDED.event_id ELSE t.event_id END,
    last_seen_at = GREATEST(t.last_seen_at, EXCLUDED.last_seen_at)
"""
# A key first seen is personal data when its name looks so (profiles.masking.PERSONAL_KEY).
INSERT_KEYS = """
INSERT INTO profiles_traitkey (key, type, strategy, example, first_seen_at, personal)
SELECT k, t, 'priority', e, now(), k ~* %s AND k !~* %s
FROM unnest(%s::text[], %s::text[], %s::jsonb[]) AS x(k, t, e)
ON CONFLICT (key) DO NOTHING
"""
RECOMPUTE = """
WITH stated AS (
    SELECT profile_id, key, value, verified, source_id, first_seen_at, last_seen_at,
           value_hash, false AS by_hand
    FROM profiles_traitvalue WHERE profile_id = ANY(%(ids)s) AND NOT conflict
    UNION ALL
    -- A correction made by hand (profiles/rectification.py) wins while it stands.
    SELECT profile_id, key, value, true, NULL, set_at, set_at, '', true
    FROM profiles_traitrectification WHERE profile_id = ANY(%(ids)s) AND removed_at IS NULL
), ranked AS (
    SELECT DISTINCT ON (tv.profile_id, tv.key) tv.profile_id, tv.key, tv.value, tv.verified
    FROM stated tv
    LEFT JOIN integrations_source s ON s.id = tv.source_id
    LEFT JOIN profiles_traitkey k ON k.key = tv.key
    ORDER BY tv.profile_id, tv.key, tv.by_hand DESC,
        -- Contact fields: typed in the UI (no source) or a server source's, then clients'.
        CASE WHEN tv.key = ANY(%(protected)s) THEN s.trust = 'client' END ASC NULLS FIRST,
        CASE WHEN coalesce(k.strategy, 'priority') = 'priority'
             THEN coalesce(s.priority, %(manual)s) END DESC NULLS LAST,
        CASE WHEN k.strategy = 'earliest' THEN tv.first_seen_at END ASC NULLS LAST,
        tv.last_seen_at DESC, tv.value_hash
), current AS (
    SELECT ids.id, coalesce(jsonb_object_agg(r.key, r.value)
                            FILTER (WHERE r.key IS NOT NULL), '{}') AS traits,
           coalesce(bool_or(r.verified) FILTER (WHERE r.key = 'email'), true) AS email_verified
    FROM unnest(%(ids)s::bigint[]) AS ids(id) LEFT JOIN ranked r ON r.profile_id = ids.id
    GROUP BY ids.id
)
UPDATE profiles_profile p SET traits = c.traits, updated_at = now(),
    display_name = left(coalesce(
        nullif(trim(concat_ws(' ', coalesce(c.traits->>'firstName', c.traits->>'first_name'),
                                   coalesce(c.traits->>'lastName', c.traits->>'last_name'))), ''),
        c.traits->>'name', lower(trim(c.traits->>'email')), ''), 200),
    -- Mostly the chosen value was stated by a server source (verified): the searches
    -- after it run only for an e-mail that some client stated.
    email_confirmed = c.email_verified OR c.traits->>'email' IS NULL
        OR EXISTS (SELECT 1 FROM profiles_traitvalue v
                   WHERE v.profile_id = c.id AND v.key = 'email' AND v.verified
                     AND lower(v.value #>> '{}') = lower(c.traits->>'email'))
        OR EXISTS (SELECT 1 FROM profiles_emailconfirmation e
                   WHERE e.address = lower(trim(c.traits->>'email'))
                     AND e.confirmed_at IS NOT NULL)
FROM current c WHERE p.id = c.id
"""


def type_of(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return "text"


TRUE_TEXT, FALSE_TEXT = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


def conform(value, wanted: str):
    """(value as the trait's type, False) or (value unchanged, True) when it cannot be."""
    have = type_of(value)
    if have == wanted:
        return value, False
    if wanted == "text" and have in ("number", "boolean"):
        return str(value).lower() if have == "boolean" else str(value), False
    if wanted == "number" and have == "text":
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return value, True
        # "NaN", "inf" and "1e999" parse, but no JSON number (nor jsonb) can hold them.
        if not math.isfinite(number):
            return value, True
        return (int(number) if number.is_integer() else number), False
    if wanted == "boolean" and have == "text" and value.strip().lower() in TRUE_TEXT | FALSE_TEXT:
        return value.strip().lower() in TRUE_TEXT, False
    return value, True


def is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in EMPTY_TEXT)


@dataclass
class Row:
    profile_id: int
    identity_id: int
    source_id: int | None
    key: str
    value: object
    conflict: bool
    first: object
    last: object
    event_id: int | None
    verified: bool = True


def value_hash(value) -> str:
    return hashlib.md5(to_json(value).encode(), usedforsecurity=False).hexdigest()


class TraitCollector:
    """Gathers the batch's trait statements, typed against the known trait keys."""

    def __init__(self):
        self.types = dict(rows("SELECT key, type FROM profiles_traitkey"))
        self.new_keys: dict[str, object] = {}
        self.rows: dict[tuple, Row] = {}

    def add_event(self, event: dict, *, profile_id: int, identity_id: int) -> bool:
        added = False
        for traits in event_traits(event):
            for key, raw in traits.items():
                if is_empty(raw) or not isinstance(key, str) or len(key) > 120:
                    continue
                self.add(
                    key,
                    raw,
                    profile_id,
                    identity_id,
                    event["source_id"],
                    event["timestamp"],
                    event["id"],
                    verified=trust.trait_verified(event, key),
                )
                added = True
        return added

    def add(
        self, key, raw, profile_id, identity_id, source_id, at, event_id, *, verified=True
    ) -> None:
        wanted = self.types.get(key)
        if wanted is None:
            wanted = self.types[key] = type_of(raw)
            self.new_keys[key] = raw
        value, conflict = conform(raw, wanted)
        digest = value_hash(value)
        row = self.rows.get((identity_id, source_id, key, digest))
        if row is None:
            self.rows[(identity_id, source_id, key, digest)] = Row(
                profile_id,
                identity_id,
                source_id,
                key,
                value,
                conflict,
                at,
                at,
                event_id,
                verified,
            )
        else:
            row.first, row.profile_id = min(row.first, at), profile_id
            row.verified = row.verified or verified
            if at >= row.last:
                row.last, row.event_id = at, event_id

    def write(self, real) -> None:
        """``real`` maps the plan's temporary ids to the inserted ones."""
        if self.new_keys:
            keys = sorted(self.new_keys)
            execute(
                INSERT_KEYS,
                [
                    masking.PERSONAL_KEY,
                    masking.NOT_PERSONAL_KEY,
                    keys,
                    [self.types[k] for k in keys],
                    [to_json(self.new_keys[k]) for k in keys],
                ],
            )
        if not self.rows:
            return
        items = [(digest, r) for (_, _, _, digest), r in self.rows.items()]
        execute(
            UPSERT_VALUES,
            [
                [real(r.profile_id) for _, r in items],
                [real(r.identity_id) for _, r in items],
                [r.source_id for _, r in items],
                [r.key for _, r in items],
                [to_json(r.value) for _, r in items],
                [digest for digest, _ in items],
                [r.conflict for _, r in items],
                [r.first for _, r in items],
                [r.last for _, r in items],
                [r.event_id for _, r in items],
                [r.verified for _, r in items],
            ],
        )


def protected_traits(identifier_traits=None) -> list[str]:
    """Contact fields and every identifier kind's trait keys (given, or read)."""
    if identifier_traits is None:
        identifier_traits = {
            key
            for found in rows("SELECT trait_keys FROM profiles_identifierkind")
            for key in found[0]
        }
    return sorted(set(identifier_traits).union(CONTACT_TRAITS))


def recompute_current_traits(profile_ids: list[int], *, identifier_traits=None) -> None:
    """``identifier_traits``: the identifier kinds' trait keys when the caller has them
    (processing loaded them with the identity rules)."""
    if profile_ids:
        params = {
            "ids": list(profile_ids),
            "manual": MANUAL_PRIORITY,
            "protected": protected_traits(identifier_traits),
        }
        execute(RECOMPUTE, params)
