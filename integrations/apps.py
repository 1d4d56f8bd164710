from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        # Imported here: the modules below need the app registry, loaded only now.
        from cdp_site.health import register_count
        from cdp_site.permissions import Cap

        from . import dashboard, personal_data

        # Hook: the tables holding a person, for their export and erasure.
        personal_data.register_all()

        # Hook: what comes in and goes out that needs a look, in /healthz (as information)
        # and the dashboard's data-health tile (cdp_site imports no app).
        look = {"url_name": "integrations:index", "cap": Cap.VIEW_INTEGRATIONS}
        register_count(
            "rejected_events",
            label="Rejected events, last 24 h",
            read=dashboard.rejected_last_day,
            detail="each source's page lists its rejections and why",
            **look,
        )
        register_count(
            "failed_imports",
            label=f"Failed imports, last {dashboard.IMPORT_DAYS} days",
            read=dashboard.failed_imports,
            detail="each source's imports say what failed",
            **look,
        )
        register_count(
            "dead_letters",
            label="Dead letters waiting",
            read=dashboard.dead_letters_waiting,
            detail="webhook calls that failed for good, to replay",
            **(look | {"url_name": "integrations:dead-letter-list"}),
        )
        register_count(
            "quarantined_events",
            label="Quarantined events",
            read=dashboard.quarantined,
            detail="events processing set aside, to replay after a fix",
            **(look | {"url_name": "integrations:quarantine"}),
        )
