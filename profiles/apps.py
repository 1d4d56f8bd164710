from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"

    def ready(self):
        # Imported here: the modules below need the app registry, loaded only now.
        from cdp_site.dashboard import register_tiles

        from . import dashboard

        # Hook: the number of profiles on the dashboard (cdp_site imports no app).
        register_tiles(dashboard.tiles)
