"""campaigns' tables in the personal-data registry (cdp_site/personal_data.py): the
journeys a person was in, each step they passed, and the messages sent to them with their
opens, clicks and conversions. Steps and deliveries point at the enrollment: they go first."""

from cdp_site.personal_data import by_profile


def register_all() -> None:
    by_profile("campaigns.StepLog", "campaigns_steplog", part="journey_steps", step=40)
    by_profile("campaigns.Delivery", "campaigns_delivery", part="messages", step=40)
    by_profile("campaigns.InboundSms", "campaigns_inboundsms", part="sms_replies", step=40)
    by_profile("campaigns.Enrollment", "campaigns_enrollment", part="journeys", step=45)
