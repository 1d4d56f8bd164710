"""The audit trail: who did what, when, from which address. Services call ``record``
for what a data protection officer asks about (sign-ins, views and exports of a person's
data, merges, consent changed by hand, erasure, changes to users, roles, tokens, sources,
destinations and connections); nothing else writes the table.

Contract:
- A row names ids (the actor's user id and role, the target's type and id) and, where an
  identifier must be findable, its keyed hash (``hashed``): never the personal data itself,
  so the trail does not become a second copy to erase. ``details`` holds the same kind of
  thing (counts, field names, before/after of settings with secrets left out).
- Written in the caller's transaction: an action that rolls back leaves no row, one that
  commits cannot lose its row.
- Append-only in the database (migration cdp_site 0006: a trigger refuses UPDATE and
  DELETE), partitioned by month; a beat task keeps the coming months created
  (``ensure_partitions``) and drops the months past the retention (``drop_expired``).
- The client's address and the signed-in user come from the request being served
  (``RequestContext``, a middleware, puts them in context variables; the API's token
  authentication names its user with ``acting_as``), so services need no request or
  actor to pass on: ``actor`` is given only where it differs from who is signed in.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .clientip import client_ip
from .models import AuditEntry
from .partitions import drop_months_before, ensure_months, maintenance, month_start
from .permissions import role_of

TABLE = "cdp_site_auditentry"
_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_address", default=None)
_actor: contextvars.ContextVar[object] = contextvars.ContextVar("audit_actor", default=None)


def record(
    *,
    action: str,
    actor=None,
    target=None,
    target_type: str = "",
    target_id: object = "",
    details: dict | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Appends one row. ``target``: a model instance (its label and pk), or name it with
    ``target_type`` and ``target_id``. ``actor``: the user; by default whoever the request
    being served is signed in as (none: the platform itself)."""
    actor = actor if actor is not None else _actor.get()
    if target is not None:
        target_type, target_id = target._meta.label_lower, target.pk
    signed_in = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEntry.objects.create(
        at=timezone.now(),
        actor_id=actor.pk if signed_in else None,
        actor_role=(role_of(actor) or "") if signed_in else "",
        action=action,
        target_type=target_type,
        target_id=str(target_id if target_id is not None else "")[:64],
        address=address or _address.get(),
        details=details or {},
    )


def hashed(value: str) -> str:
    """A keyed hash of an identifier (an e-mail address, a login name), so that rows about
    it can be found without the trail holding it."""
    key = hashlib.sha256(f"cdp.audit:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def changed(before: dict, after: dict) -> dict:
    """{field: [before, after]} for the fields whose value changed (settings' diffs)."""
    return {k: [before.get(k), after.get(k)] for k in sorted(after) if before.get(k) != after[k]}


@transaction.atomic
def ensure_partitions(*, months_ahead: int = 2, today=None) -> list[str]:
    today = today or timezone.now().date()
    return ensure_months(parent=TABLE, column="at", months_ahead=months_ahead, today=today)


@transaction.atomic
def drop_expired(*, keep_months: int | None = None, today=None) -> list[str]:
    """The trail's own retention: the month partitions older than the ``keep_months``
    whole months before this one (settings.AUDIT_RETENTION_MONTHS) are dropped, and rows
    of that age stranded in DEFAULT deleted (as partition maintenance, which the
    append-only trigger lets through)."""
    keep = settings.AUDIT_RETENTION_MONTHS if keep_months is None else keep_months
    cutoff = month_start(today or timezone.now().date(), -keep)
    dropped = drop_months_before(parent=TABLE, cutoff=cutoff)
    with connection.cursor() as cursor, maintenance(cursor):
        cursor.execute(f"DELETE FROM {TABLE}_default WHERE at < %s", [cutoff])  # noqa: S608
    return dropped


def acting_as(user) -> None:
    """Names the user the current request acts for (the API's token authentication, which
    runs after the middleware); the middleware's reset ends it with the request."""
    _actor.set(user)


class RequestContext:
    """Middleware: the client's address (cdp_site.clientip) and the signed-in user (read
    lazily) for ``record`` while the request is served."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        address = _address.set(client_ip(request))
        actor = _actor.set(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            _actor.reset(actor)
            _address.reset(address)
