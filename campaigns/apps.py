from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self):
        from cdp_site.dashboard import register_tiles
        from profiles.changes import profile_changed
        from segments.membership import membership_changed

        from . import dashboard, tasks

        # Enrolment, awaited events and goals follow both change signals (after their
        # commit); beat reads the same outboxes every few seconds as a safety net.
        profile_changed.connect(tasks.queue_triggers, dispatch_uid="campaigns")
        membership_changed.connect(tasks.queue_triggers, dispatch_uid="campaigns")
        # Hook: journey entries in the customer timeline (pages: campaigns/selectors.py).
        from profiles import selectors as profile_selectors

        from . import selectors

        profile_selectors.register_timeline_source(
            selectors.TIMELINE_KINDS, selectors.timeline_items
        )
        # Hook: campaign figures on the dashboard.
        register_tiles(dashboard.tiles)
