from django.apps import AppConfig


class CdpSiteConfig(AppConfig):
    name = "cdp_site"
    verbose_name = "CDP site"
