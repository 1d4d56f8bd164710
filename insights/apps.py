from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Reports over what the other apps record: it reads them all and no app but demo
    imports it (the layers contract in pyproject.toml)."""

    name = "insights"
