from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from cdp_site.health import Reading, register_reading
        from cdp_site.permissions import Cap

        from .quarantine.selectors import size

        register_reading(
            "quarantined_events",
            Reading(
                label="Quarantined events",
                read=size,
                url_name="integrations:quarantine",
                url_capability=Cap.VIEW_INTEGRATIONS,
            ),
        )
