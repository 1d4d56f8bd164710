"""campaigns' tables in the personal-data registry (cdp_site/personal_data.py): the
journeys a person was in, each step they passed, the messages sent to them with their
opens, clicks and conversions, the texts they sent back, their addresses that bounced,
and the products recommended to them. Steps and deliveries point at the enrollment:
they go first.

Audience syncs: an erased person still in an ad audience must leave it, and only the
hashes sent say whom to remove. Their row is detached from the person (its profile id
becomes the row's own negative id, naming no one) and queued: the sync sends the remove
with those hashes, then deletes the row. Rows the platform rejected, and pending checks,
are deleted at once."""

from psycopg import sql

from cdp_site.personal_data import Subject, by_condition, by_profile, register, run, select

DETACH = sql.SQL("""
WITH gone AS (
    UPDATE campaigns_audiencemember SET profile_id = -id
    WHERE profile_id = ANY(%s) AND state = 'in' RETURNING sync_id, profile_id
)
INSERT INTO campaigns_audiencepending (sync_id, profile_id, marked_at)
SELECT sync_id, profile_id, now() FROM gone
ON CONFLICT (sync_id, profile_id) DO UPDATE SET marked_at = EXCLUDED.marked_at
""")
MEMBERS = sql.SQL("SELECT to_jsonb(t) FROM campaigns_audiencemember t WHERE profile_id = ANY(%s)")
REJECTED = sql.SQL("DELETE FROM campaigns_audiencemember WHERE profile_id = ANY(%s)")


def _erase_audience_members(subject) -> int:
    ids = [list(subject.profile_ids)]
    return run(DETACH, ids) + run(REJECTED, ids)


# An address that bounced or complained, kept by the address itself (no profile).
ADDRESS = sql.SQL("t.address = ANY(%s)")
# A text sent back: by its profile, or by the number (a STOP from a number no profile held
# then is still the person's).
REPLIES = sql.SQL("t.profile_id = ANY(%s) OR t.from_number = ANY(%s)")


def register_all() -> None:
    by_profile("campaigns.StepLog", "campaigns_steplog", part="journey_steps", step=40)
    by_profile("campaigns.Delivery", "campaigns_delivery", part="messages", step=40)
    by_condition(
        "campaigns.InboundSms",
        "campaigns_inboundsms",
        part="sms_replies",
        where=REPLIES,
        params=lambda subject: [list(subject.profile_ids), subject.values("phone")],
        step=40,
    )
    by_condition(
        "campaigns.Undeliverable",
        "campaigns_undeliverable",
        part="undeliverable_addresses",
        where=ADDRESS,
        params=lambda subject: [subject.values("email", "phone")],
        step=40,
    )
    by_profile("campaigns.Enrollment", "campaigns_enrollment", part="journeys", step=45)
    by_profile(
        "campaigns.AudiencePending", "campaigns_audiencepending", part="audience_checks", step=40
    )
    by_profile(
        "campaigns.Recommendation", "campaigns_recommendation", part="recommendations", step=40
    )
    register(
        model="campaigns.AudienceMember",
        part="ad_audiences",
        export=lambda subject: select(MEMBERS, [list(subject.profile_ids)]),
        erase=_erase_audience_members,
        step=45,
    )
    # The personalisation API's cached answers (Redis, campaigns/personalization/cache.py),
    # what the sources' settings (the model named) make public: a copy of what profiles
    # and segments hold, so nothing of its own to export; the settings hold no person.
    register(
        model="campaigns.PersonalizationSetting",
        part="personalization_cache",
        export=lambda subject: [],
        erase=_forget_cached_answers,
        step=40,
    )


def _forget_cached_answers(subject: Subject) -> int:
    from .personalization import cache

    cache.forget(subject.profile_ids)
    return 0
