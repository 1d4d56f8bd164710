from django.apps import AppConfig


class CdpSiteConfig(AppConfig):
    name = "cdp_site"
    verbose_name = "CDP site"

    def ready(self):
        from . import receivers  # noqa: F401 (connects the account signal receivers)
