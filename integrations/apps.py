from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        # Imported here: the modules below need the app registry, loaded only now.
        from cdp_site.dashboard import register_tiles
        from cdp_site.health import register_count

        from . import dashboard
        from .quarantine.selectors import size

        # Hook: events and data-health figures on the dashboard (cdp_site imports no app).
        register_tiles(dashboard.tiles)
        # Hook: the quarantine's size in /healthz, as information.
        register_count("quarantined_events", label="Quarantined events", read=size)
