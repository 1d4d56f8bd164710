"""campaigns' tables in the personal-data registry (cdp_site/personal_data.py): the
journeys a person was in, each step they passed, and the messages sent to them with their
opens, clicks and conversions, the texts they sent back and their addresses that bounced.
Steps and deliveries point at the enrollment: they go first."""

from psycopg import sql

from cdp_site.personal_data import by_condition, by_profile

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
