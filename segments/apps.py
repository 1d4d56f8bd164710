from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"

    def ready(self):
        # Imported here: the modules below need the app registry, loaded only now.
        from cdp_site.health import register_count
        from cdp_site.permissions import Cap
        from profiles import selectors as profile_selectors
        from profiles.changes import profile_changed
        from profiles.filters import register_filter

        from . import dashboard, filters, personal_data, selectors, services

        # Hook: the tables holding a person, for their export and erasure.
        personal_data.register_all()

        # Membership follows the profiles' change signal (after their commit).
        profile_changed.connect(services.trigger_profile_changes, dispatch_uid="segments")
        # Hook: segment entries and exits appear in the customer timeline, each a type of
        # its own in the timeline's filter (profiles reads them through its registry).
        profile_selectors.register_timeline_source(
            selectors.TIMELINE_KINDS, selectors.timeline_items
        )
        # Hook: the segments a person is in, a panel of the profile page.
        profile_selectors.register_profile_panel(
            key="segments",
            title="Segments",
            url_name="segments:profile-panel",
            loading="Loading segments…",
        )
        # Hook: "in segment" filters the profile lists (page and API).
        register_filter("segment", filters.membership_filter())
        # Hook: segments failing to compute, in /healthz and the dashboard's data health.
        register_count(
            "failing_segments",
            label="Segments failing to compute",
            read=dashboard.failing,
            url_name="segments:index",
            cap=Cap.VIEW_SEGMENTS,
            detail="each says why on its page",
        )
