from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"

    def ready(self):
        from cdp_site.permissions import register_grants
        from integrations.connectors.services import register_source_setup

        from . import personal_data
        from .changes import profile_changed
        from .matching import incremental
        from .privacy import services as privacy_services

        register_source_setup(_connection_user_id_kind)
        # Hook: the tables holding a person (and their raw events), for export and erasure.
        personal_data.register_all()
        # An erased person's identifiers go on integrations' suppression list.
        privacy_services.register_suppressor(_suppress)
        # Profiles just created or changed are matched against the others, off this path.
        profile_changed.connect(incremental.trigger, dispatch_uid="matching")
        # The roles an admin let see personal data in clear (PersonalDataSettings).
        register_grants(_personal_data_grants)


def _personal_data_grants() -> dict:
    from cdp_site.permissions import Cap

    from .models import PersonalDataSettings

    # Read without creating the row: a page view should not write (its migration made it;
    # without it, the model's default grant).
    roles = PersonalDataSettings.objects.filter(pk=1).values_list("granted_roles", flat=True)
    granted = roles.first()
    if granted is None:
        granted = PersonalDataSettings._meta.get_field("granted_roles").get_default()
    return {role: frozenset({Cap.SEE_PERSONAL_DATA}) for role in granted}


def _suppress(values: list[str], request_id: int) -> None:
    from integrations.suppression import services as suppression

    suppression.suppress(values=values, reason=f"privacy request {request_id}")


def _connection_user_id_kind(*, source, kind) -> None:
    """A connector's source whose userId is not a web user id (a CRM's contact id) says so
    from the start, so its ids never meet the website's user ids of the same value. An
    installation that removed that identifier kind keeps the default (the admin chooses
    in the identity rules)."""
    name = kind.extra.get("user_id_kind", "")
    if not name or name == "user_id":
        return
    from . import defaults
    from .models import IdentifierKind
    from .rules.services import set_source_user_kind

    defaults.ensure_installed()
    found = IdentifierKind.objects.filter(name=name).first()
    if found is not None:
        set_source_user_kind(source=source, kind=found)
