from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"

    def ready(self):
        from integrations.connectors.services import register_source_setup

        register_source_setup(_connection_user_id_kind)


def _connection_user_id_kind(*, source, kind) -> None:
    """A connector's source whose userId is not a web user id (a CRM's contact id) says so
    from the start, so its ids never meet the website's user ids of the same value."""
    name = kind.extra.get("user_id_kind", "")
    if name and name != "user_id":
        from .services import set_source_user_id_kind

        set_source_user_id_kind(source=source, kind_name=name)
