from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from cdp_site.dashboard import register_tiles

        from . import dashboard

        # Hook: events and data-health figures on the dashboard (cdp_site imports no app).
        register_tiles(dashboard.tiles)
