from django.apps import AppConfig


class CdpSiteConfig(AppConfig):
    name = "cdp_site"
    verbose_name = "CDP site"

    def ready(self):
        from . import personal_data, receivers  # noqa: F401 (receivers connects the account signals)

        personal_data.exempt(
            model="cdp_site.AuditEntry",
            reason="staff ids and addresses, a person only by id or keyed hash (by design): "
            "it keeps the record of the erasure itself",
        )
        personal_data.exempt(
            model="cdp_site.QueuedTask",
            reason="tasks waiting for the broker: ids at most, sent within seconds",
        )
