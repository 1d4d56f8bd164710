"""integrations' tables in the personal-data registry (cdp_site/personal_data.py) that
hold a person without being linked to a profile: refused events (kept 7 days) carry the
identifiers the sender gave, and dead letters the payloads a destination never took.
The raw events, their inbox and quarantine rows are registered by profiles, which knows
which were the person's."""

from psycopg import sql

from cdp_site.personal_data import Subject, by_condition, exempt

# A refused message names its person as the sender wrote them: userId, anonymousId, or
# an e-mail address among its traits.
REFUSED = sql.SQL(
    "t.payload ->> 'userId' = ANY(%s) OR t.payload ->> 'anonymousId' = ANY(%s) "
    "OR lower(t.payload -> 'traits' ->> 'email') = ANY(%s)"
)
# A destination's payload has the shape the destination wants: any of the identifiers
# standing as a whole JSON string anywhere in it (the table is small: failures only).
UNDELIVERED = sql.SQL(
    "EXISTS (SELECT 1 FROM jsonb_path_query(t.payload, 'strict $.**') AS v(value) "
    "WHERE jsonb_typeof(v.value) = 'string' AND v.value #>> '{}' = ANY(%s))"
)


def _refused(subject: Subject) -> list:
    named = [v for k, v in subject.identifiers if k != "anonymous_id"]
    return [named, subject.values("anonymous_id"), subject.values("email")]


def register_all() -> None:
    by_condition(
        "integrations.RejectedEvent",
        "integrations_rejectedevent",
        part="refused_events",
        where=REFUSED,
        params=_refused,
    )
    by_condition(
        "integrations.DeadLetter",
        "integrations_deadletter",
        part="undelivered_payloads",
        where=UNDELIVERED,
        params=lambda subject: [subject.values()],
    )
    exempt(
        model="integrations.TrackingPlan",
        reason="its traits are the planned trait names and their types, never a value sent; "
        "violations keep message ids and JSON pointers, never the values either",
    )
