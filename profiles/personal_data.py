"""profiles' tables in the personal-data registry (cdp_site/personal_data.py), and the
raw events of integrations that were the person's: only profiles knows which those are
(the resolved events name them; an event still unresolved carries their identifiers).

Steps (the erasure's order): 10, what points at the person's raw events; 20, the raw
events themselves (every month partition: one DELETE on the parent); 50, the facts
(resolved events, trait values, consent, notes, stage history, merges...); 55, other
people's links to the person's identities undone; 60, identities; 90, profiles.
"""

from psycopg import sql

from cdp_site.personal_data import Subject, by_condition, by_profile, exempt, register, run

# The person's raw events: those resolved to one of their profiles, and those not resolved
# to anyone that carry one of their identifiers as userId or anonymousId.
RAW_EVENT_IDS = """
SELECT event_id FROM profiles_profileevent WHERE profile_id = ANY(%s)
UNION
SELECT e.id FROM integrations_event e
WHERE (e.user_id = ANY(%s) OR e.anonymous_id = ANY(%s))
  AND NOT EXISTS (SELECT 1 FROM profiles_profileevent pe WHERE pe.event_id = e.id)
"""


# The person's inbox rows, less those a processing batch has claimed (its DELETE holds them
# until it commits): the batch may be waiting for the erasure's identifier locks, so waiting
# for it would be a deadlock; and once the erasure commits, the batch finds the identifiers
# suppressed and drops those events itself (profiles/pipeline.py).
UNCLAIMED_INBOX = sql.SQL(
    "t.id IN (SELECT i.id FROM integrations_eventinbox i WHERE i.event_id IN ({}) "
    "FOR UPDATE OF i SKIP LOCKED)"
).format(sql.SQL(RAW_EVENT_IDS))


def _raw_params(subject: Subject) -> list:
    named = [v for k, v in subject.identifiers if k != "anonymous_id"]
    return [list(subject.profile_ids), named, subject.values("anonymous_id")]


def _raw(column: str) -> sql.Composable:
    return sql.SQL("t.{} IN (" + RAW_EVENT_IDS + ")").format(sql.Identifier(column))


def _profiles(subject: Subject) -> list:
    return [list(subject.profile_ids)]


# Rows of other profiles that point at one of the person's identities (an identity attached
# through theirs; a merge one of them caused): the link goes, the row stays.
UNLINK_ATTACHED = sql.SQL("""
UPDATE profiles_identity SET attached_via_id = NULL
WHERE attached_via_id IN (SELECT id FROM profiles_identity WHERE profile_id = ANY(%s))
  AND NOT profile_id = ANY(%s)
""")
UNLINK_MERGES = sql.SQL("""
UPDATE profiles_merge SET identity_id = NULL
WHERE identity_id IN (SELECT id FROM profiles_identity WHERE profile_id = ANY(%s))
""")


def _unlink(subject: Subject) -> int:
    ids = list(subject.profile_ids)
    return run(UNLINK_ATTACHED, [ids, ids]) + run(UNLINK_MERGES, [ids])


def register_all() -> None:
    by_condition(
        "integrations.EventInbox",
        "integrations_eventinbox",
        part="integrations_eventinbox",
        where=UNCLAIMED_INBOX,
        params=_raw_params,
        step=10,
    )
    for model, table in (
        ("integrations.QuarantinedEvent", "integrations_quarantinedevent"),
        ("profiles.UnresolvedEvent", "profiles_unresolvedevent"),
    ):
        by_condition(model, table, part=table, where=_raw("event_id"), params=_raw_params, step=10)
    by_condition(
        "integrations.Event",
        "integrations_event",
        part="raw_events",
        where=_raw("id"),
        params=_raw_params,
        step=20,
    )
    for model, table, part in (
        ("profiles.ProfileEvent", "profiles_profileevent", "events"),
        ("profiles.TraitValue", "profiles_traitvalue", "trait_values"),
        ("profiles.TraitRectification", "profiles_traitrectification", "trait_corrections"),
        ("profiles.ConsentRecord", "profiles_consentrecord", "consent_records"),
        ("profiles.Note", "profiles_note", "notes"),
        ("profiles.StageChange", "profiles_stagechange", "stage_history"),
        ("profiles.ProfileChange", "profiles_profilechange", "profile_changes"),
        ("profiles.LinkRefusal", "profiles_linkrefusal", "refused_links"),
    ):
        by_profile(model, table, part=part)
    by_condition(
        "profiles.Merge",
        "profiles_merge",
        part="merges",
        where=sql.SQL("t.survivor_id = ANY(%s) OR t.merged_id = ANY(%s)"),
        params=lambda subject: _profiles(subject) * 2,
    )
    by_condition(
        "profiles.MatchCandidate",
        "profiles_matchcandidate",
        part="match_candidates",
        where=sql.SQL("t.low_id = ANY(%s) OR t.high_id = ANY(%s)"),
        params=lambda subject: _profiles(subject) * 2,
    )
    by_condition(
        "profiles.EmailConfirmation",
        "profiles_emailconfirmation",
        part="email_confirmations",
        where=sql.SQL("t.address = ANY(%s)"),
        params=lambda subject: [subject.values("email")],
    )
    register(
        model="profiles.Identity", part="identity_links", export=_nothing, erase=_unlink, step=55
    )
    by_profile("profiles.Identity", "profiles_identity", part="identities", step=60)
    by_profile("profiles.Profile", "profiles_profile", part="profiles", column="id", step=90)
    exempt(
        model="profiles.PrivacyRequest",
        reason="the record of a data subject request, kept as proof it was answered: its "
        "identifier is cleared on completion (only the keyed hash stays) and its profile ids "
        "name profiles that are gone after an erasure",
    )
    exempt(
        model="profiles.MatchRun",
        reason="a matching pass's counts; its dry-run samples are profile ids only, which "
        "name nothing once those profiles are erased",
    )
    exempt(
        model="profiles.MatchModel",
        reason="a trained model: match and non-match probabilities per comparison level, "
        "no value of any profile",
    )
    exempt(model="profiles.MatchSettings", reason="configuration, about no one")
    exempt(model="profiles.MatchCursor", reason="how far the matcher read the change signal")
    exempt(
        model="profiles.PropagationJob",
        reason="an erasure's request to a destination, kept as proof it was made: the "
        "identifiers it needs travel encrypted and are wiped once it succeeded or was "
        "handled by hand",
    )
    exempt(
        model="profiles.BlockedValue",
        reason="configuration: values an admin keeps out of identity resolution "
        "(test@example.com, 'null'), about no one",
    )


def _nothing(subject: Subject) -> list[dict]:
    return []
