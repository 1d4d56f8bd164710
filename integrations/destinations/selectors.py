"""Reads for destinations and their dead letters, and what uses a destination."""

import json
from collections.abc import Callable

from django.db.models import Count, Q, QuerySet

from cdp_site import crypto

from .models import DeadLetter, Destination


def get_secrets(*, destination: Destination) -> dict:
    """The destination's credentials, decrypted (for its adapter; never shown)."""
    if not destination.secrets_encrypted:
        return {}
    return json.loads(crypto.decrypt(destination.secrets_encrypted))


def destinations() -> QuerySet[Destination]:
    return Destination.objects.annotate(
        pending_dead_letters=Count("dead_letters", filter=Q(dead_letters__replayed_at=None))
    )


def dead_letters(*, destination: Destination | None = None) -> QuerySet[DeadLetter]:
    """Dead letters with their destination; lists narrow them with ``DeadLetterFilter``."""
    rows = DeadLetter.objects.select_related("destination")
    if destination is not None:
        rows = rows.filter(destination=destination)
    return rows


# Hook: apps above integrations name what of theirs sends through a destination
# (campaigns: journeys with a step that uses it), registered in their AppConfig.ready();
# integrations never imports them.
USAGE_CHECKS: list[Callable[[Destination], list[str]]] = []


def register_usage_check(check: Callable[[Destination], list[str]]) -> None:
    if check not in USAGE_CHECKS:
        USAGE_CHECKS.append(check)


def users_of(*, destination: Destination) -> list[str]:
    """What sends through ``destination``, each as a phrase (campaign “Welcome”)."""
    return [user for check in USAGE_CHECKS for user in check(destination)]
