"""What every adapter shares: the error it raises and how it reads a destination's
settings and credentials."""

from __future__ import annotations

from . import selectors
from .models import Destination


class DestinationError(Exception):
    def __init__(self, message: str, retryable: bool = False, *, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        # Seconds the destination asked to wait before the next try (HTTP Retry-After).
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


def _expect(destination: Destination, *kinds: str) -> None:
    if destination.kind not in kinds:
        raise DestinationError(
            f"{destination.name} is a {destination.kind} destination, not {' or '.join(kinds)}.",
            retryable=False,
        )
    if not destination.enabled:
        raise DestinationError(f"{destination.name} is disabled.", retryable=False)


def _config(destination: Destination, name: str, default=None, *, required: bool = False):
    value = (destination.config or {}).get(name)
    if value in (None, ""):
        if required:
            raise DestinationError(f"{destination.name} has no {name} set.", retryable=False)
        return default
    return value


def _secret(destination: Destination, name: str, *, required: bool = True) -> str:
    value = selectors.get_secrets(destination=destination).get(name, "")
    if required and not value:
        raise DestinationError(f"{destination.name} has no {name} set.", retryable=False)
    return value


def _timeout(destination: Destination) -> float:
    try:
        return float(_config(destination, "timeout", 10))
    except (TypeError, ValueError):
        return 10.0
