"""Which platform's adapter serves a destination, and the calls campaigns' audience sync
makes through it (``push``, ``check_request``). Apart from audiences.py, which the
adapters build on, so that no module imports itself back through them."""

from __future__ import annotations

from . import google_audience, meta_audience
from .audiences import (
    ADD,
    AUTH,
    BATCH_LIMIT,
    REFUSED,
    REMOVE,
    AudienceError,
    PushResult,
    RequestStatus,
)
from .models import Destination


def _adapter(destination: Destination):
    adapters = {
        Destination.Kind.META_CUSTOM_AUDIENCE: meta_audience,
        Destination.Kind.GOOGLE_DATA_MANAGER: google_audience,
    }
    adapter = adapters.get(destination.kind)
    if adapter is None:
        raise AudienceError(
            f"{destination.name} ({destination.get_kind_display()}) cannot hold a synced audience.",
            reason=REFUSED,
        )
    if not destination.enabled:
        raise AudienceError(f"{destination.name} is disabled.", reason=AUTH)
    return adapter


def batch_limit(destination: Destination) -> int:
    return BATCH_LIMIT


def push(
    destination: Destination,
    *,
    audience_id: str,
    action: str,
    rows: list[tuple[str, str]],
    session: dict | None = None,
) -> PushResult:
    if action not in (ADD, REMOVE):
        raise AudienceError(f"Unknown audience action {action!r}.", reason=REFUSED)
    if len(rows) > batch_limit(destination):
        raise AudienceError(
            f"At most {batch_limit(destination):,} members a request.", reason=REFUSED
        )
    adapter = _adapter(destination)
    if not rows:
        return PushResult(sent=0)
    return adapter.push(
        destination, audience_id=str(audience_id), action=action, rows=rows, session=session
    )


def check_request(destination: Destination, *, request_id: str) -> RequestStatus | None:
    adapter = _adapter(destination)
    check = getattr(adapter, "check_request", None)
    return check(destination, request_id=request_id) if check and request_id else None
