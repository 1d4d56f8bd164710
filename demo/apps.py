from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo company (generator, loader, users, segments): the top of the import
    layers, so it may use every app and no app uses it."""

    name = "demo"
