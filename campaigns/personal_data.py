"""campaigns' tables in the personal-data registry (cdp_site/personal_data.py): the
journeys a person was in, each step they passed, and the messages sent to them with their
opens, clicks and conversions. Steps and deliveries point at the enrollment: they go first."""

from cdp_site.personal_data import Subject, by_profile, register


def register_all() -> None:
    by_profile("campaigns.StepLog", "campaigns_steplog", part="journey_steps", step=40)
    by_profile("campaigns.Delivery", "campaigns_delivery", part="messages", step=40)
    by_profile("campaigns.Enrollment", "campaigns_enrollment", part="journeys", step=45)
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
