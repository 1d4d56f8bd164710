from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self):
        # Imported here: the modules below need the app registry, loaded only now.
        from integrations.destinations import selectors as destination_selectors
        from profiles.changes import profile_changed
        from segments import selectors as segment_selectors
        from segments.membership import membership_changed

        from . import personal_data, tasks

        # Hook: the tables holding a person, for their export and erasure.
        personal_data.register_all()
        # Hook: step logs' window, purged by the retention run and listed on its page.
        from profiles.retention import operational as retention

        from . import services

        retention.register(
            retention.Purge(
                "step_logs",
                "Journeys' step logs (of enrollments that ended)",
                retention.days_window(
                    "CAMPAIGNS_STEP_LOG_RETENTION_DAYS", "CDP_STEP_LOG_RETENTION_DAYS"
                ),
                lambda now: services.purge_step_logs(now=now),
            )
        )
        # Enrolment, awaited events and goals follow both change signals (after their
        # commit); beat reads the same outboxes every few seconds as a safety net.
        profile_changed.connect(tasks.queue_triggers, dispatch_uid="campaigns")
        membership_changed.connect(tasks.queue_triggers, dispatch_uid="campaigns")
        # The personalisation API's cached answers follow the same two signals (beat
        # reads the outboxes as a safety net); its answer's sections are registered here,
        # and their empty shape with the endpoint (integrations/collect/personalize.py).
        from .personalization import answers as personalization

        personalization.register_builtin()
        from segments import services as segment_services

        from .personalization.settings import queue_rebuild

        segment_services.register_on_site_listener(queue_rebuild)
        profile_changed.connect(tasks.queue_personalization, dispatch_uid="personalization")
        membership_changed.connect(tasks.queue_personalization, dispatch_uid="personalization")
        # Hook: journey entries and messages (sent, opened, clicked, skipped) in the
        # customer timeline (campaigns/selectors.py).
        from profiles import selectors as profile_selectors

        from . import selectors

        profile_selectors.register_timeline_source(
            selectors.TIMELINE_KINDS, selectors.timeline_items
        )
        profile_selectors.register_timeline_source(
            selectors.MESSAGE_KINDS, selectors.message_timeline_items
        )
        # Hook: a person's journeys and messages, a panel of the profile page.
        profile_selectors.register_profile_panel(
            key="campaigns",
            title="Journeys and messages",
            url_name="campaigns:profile-panel",
            loading="Loading journeys…",
        )
        # Hook: a person's recommended products, a panel of the profile page; their lists
        # follow their orders (campaigns/recommendations/services.py).
        profile_selectors.register_profile_panel(
            key="recommendations",
            title="Recommended products",
            url_name="campaigns:recommendations-panel",
            loading="Loading recommendations…",
        )
        from .recommendations import services as recommendations

        profile_changed.connect(
            recommendations.on_profile_changes, dispatch_uid="campaigns-recommendations"
        )
        # Hook: a segment or a destination a campaign uses is not deleted from under it.
        destination_selectors.register_usage_check(selectors.campaigns_using_destination)
        segment_selectors.register_usage_check(selectors.campaigns_using_segment)
        from .audiences import selectors as audience_selectors

        destination_selectors.register_usage_check(audience_selectors.syncs_using_destination)
        from integrations.destinations import services as destination_services

        from .audiences import services as audience_services

        destination_services.register_reconnect_hook(audience_services.resume_after_reconnect)
        segment_selectors.register_usage_check(audience_selectors.syncs_using_segment)
        # Hook: the consent purposes a webhook destination may require (its form and API).
        from integrations.destinations import kinds

        from . import protection

        kinds.register_consent_purposes(protection.consent_purposes)
        # Hook: the destinations that received a person, asked to delete them when the
        # person is erased (profiles/privacy/propagation.py).
        from profiles.privacy import propagation as privacy_propagation

        from . import propagation

        privacy_propagation.register_recipient_source(propagation.destinations_reached)
        privacy_propagation.register_recipient_source(propagation.csv_exports_reached)
