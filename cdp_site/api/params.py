"""Query parameters several APIs read the same way."""

from rest_framework import exceptions


def profile_id_param(request) -> int | None:
    """``?profile=<id>``: the profile id, None when absent; a 400 when not a number."""
    profile = request.query_params.get("profile")
    if profile is None or profile == "":
        return None
    if not profile.isdigit():
        raise exceptions.ValidationError({"profile": ["A profile id."]})
    return int(profile)


def choice_param(request, name: str, choices) -> str | None:
    """``?<name>=<value>`` checked against ``choices``: None when absent; a 400 naming the
    choices otherwise."""
    value = request.query_params.get(name)
    if not value:
        return None
    if value not in choices:
        raise exceptions.ValidationError({name: [f"Choose one of: {', '.join(choices)}."]})
    return value


def filtered(queryset, request, choices: dict[str, list[str]], *, by_profile: bool = False):
    """``queryset`` narrowed by each ``?<field>=<value>`` given (checked against that
    field's choices, see ``choice_param``) and, with ``by_profile``, by ``?profile=``."""
    for name, values in choices.items():
        value = choice_param(request, name, values)
        if value:
            queryset = queryset.filter(**{name: value})
    if by_profile and (profile_id := profile_id_param(request)) is not None:
        queryset = queryset.filter(profile_id=profile_id)
    return queryset
