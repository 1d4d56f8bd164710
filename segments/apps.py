from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"

    def ready(self):
        from profiles.changes import profile_changed

        from . import services

        # Membership follows the profiles' change signal (after their commit).
        profile_changed.connect(services.trigger_profile_changes, dispatch_uid="segments")
