"""Writes for destinations: create/update with encrypted secrets, connection tests,
webhook delivery with dead letters, and their replay.

Secrets are a dict per destination, stored only as ``crypto.encrypt(json.dumps(...))`` in
``Destination.secrets_encrypted``; pages and the API see ``secret_hints`` (set / last 4).
When an update moves the endpoint to another host (or scheme, or port), the stored
secrets are dropped: they were entered for the old one.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from cdp_site import audit, crypto, retention
from cdp_site.confirm import in_use

from . import adapters, erasure, selectors
from .kinds import KINDS, as_list
from .models import DeadLetter, Destination
from .selectors import get_secrets

# --- secrets --------------------------------------------------------------------------


def _merge_secrets(destination: Destination, updates: dict | None) -> None:
    """Applies ``updates``: a blank or missing value keeps the stored one; ``None`` too.
    To clear a secret pass ``{"name": False}``."""
    if not updates:
        return
    current = get_secrets(destination=destination)
    allowed = {f.name for f in KINDS[destination.kind].secrets}
    for name, value in updates.items():
        if name not in allowed:
            continue
        if value is False:
            current.pop(name, None)
        elif value not in (None, ""):
            current[name] = str(value)
    destination.secrets_encrypted = crypto.encrypt(json.dumps(current)) if current else ""


def mask(value: str) -> str:
    """How a stored secret shows on pages and in the API: never in full."""
    if not value:
        return ""
    return f"set, ends in {value[-4:]}" if len(value) >= 12 else "set"


def secret_hints(*, destination: Destination) -> dict[str, str]:
    try:
        stored = get_secrets(destination=destination)
    except crypto.DecryptionError:
        return {f.name: "unreadable (key missing)" for f in KINDS[destination.kind].secrets}
    return {f.name: mask(stored.get(f.name, "")) for f in KINDS[destination.kind].secrets}


def _clean_config(kind: str, config: dict | None, previous: dict | None = None) -> dict:
    """Known settings for the kind, typed; settings the system keeps (e.g. last export) stay."""
    result = {k: v for k, v in (previous or {}).items() if k.startswith("last_")}
    for field in KINDS[kind].config:
        value = (config or {}).get(field.name)
        if value in (None, ""):
            value = field.default
        if value in (None, ""):
            continue
        if field.type == "int":
            value = int(value)
        elif field.type == "list":
            value = as_list(value)
        elif field.type == "bool":
            value = bool(value) and value not in ("false", "0", "off")
        else:
            value = str(value).strip()
        result[field.name] = value
    return result


def _endpoints(kind: str, config: dict) -> set[tuple]:
    """Where a config sends its secrets: each URL's scheme, host and port (a move from
    https to http counts), and the host of other endpoint settings (SMTP)."""
    found = set()
    for field in KINDS[kind].config:
        value = str((config or {}).get(field.name) or "").strip()
        if not value:
            continue
        if field.type == "url":
            try:
                parts = urlsplit(value)
                scheme = parts.scheme.lower()
                port = parts.port or {"https": 443, "http": 80}.get(scheme)
                found.add((scheme, (parts.hostname or "").lower(), port))
            except ValueError:
                found.add(("unreadable", value))
        elif field.endpoint:
            found.add(("host", value.lower().rstrip(".")))
    return found


def moved_secrets(*, destination: Destination, config: dict) -> list[str]:
    """The stored secrets that ``config`` would send to a host they were not entered for:
    an update drops them unless they are entered again with it."""
    if destination.pk is None or not destination.secrets_encrypted:
        return []
    new = _endpoints(destination.kind, _clean_config(destination.kind, config))
    if new <= _endpoints(destination.kind, destination.config):
        return []
    return [name for name, hint in secret_hints(destination=destination).items() if hint]


def typed_config(kind: str, config: dict | None) -> dict:
    """The settings as they would be stored (defaults filled, values typed); raises
    ValueError or TypeError for a value of the wrong type."""
    return _clean_config(kind, config)


@transaction.atomic
def create_destination(
    *,
    name: str,
    kind: str,
    config: dict | None = None,
    secrets: dict | None = None,
    enabled: bool = True,
) -> Destination:
    destination = Destination(
        name=name, kind=kind, enabled=enabled, config=_clean_config(kind, config)
    )
    _merge_secrets(destination, secrets)
    destination.save()
    audit.record(action="destination.create", target=destination, details={"kind": kind})
    return destination


@transaction.atomic
def update_destination(
    *,
    destination: Destination,
    name: str | None = None,
    config: dict | None = None,
    secrets: dict | None = None,
    enabled: bool | None = None,
) -> Destination:
    before = {"name": destination.name, "enabled": destination.enabled, **destination.config}
    if name is not None:
        destination.name = name
    if enabled is not None:
        destination.enabled = enabled
    if config is not None:
        if moved_secrets(destination=destination, config=config):
            # Never send the old credentials to the new host: the admin enters them again.
            destination.secrets_encrypted = ""
        destination.config = _clean_config(destination.kind, config, destination.config)
    _merge_secrets(destination, secrets)
    destination.save()
    if any(value not in (None, "", False) for value in (secrets or {}).values()):
        # New credentials: what paused on the old ones may go on (after this commits).
        transaction.on_commit(lambda: [hook(destination) for hook in RECONNECT_HOOKS])
    after = {"name": destination.name, "enabled": destination.enabled, **destination.config}
    # Settings by name only: a destination's settings may name hosts and lists; the
    # secrets are never read here.
    details = {"changed": sorted(audit.changed(before, after)), "secrets": sorted(secrets or {})}
    audit.record(action="destination.update", target=destination, details=details)
    return destination


# Hook: apps above integrations resume what paused on refused credentials once an admin
# enters new ones (campaigns: audience syncs), registered in their AppConfig.ready().
RECONNECT_HOOKS: list = []


def register_reconnect_hook(hook) -> None:
    if hook not in RECONNECT_HOOKS:
        RECONNECT_HOOKS.append(hook)


class DestinationInUse(Exception):
    """The destination is in use; the message names what uses it."""


def deletion_problem(*, destination: Destination) -> str:
    """Why ``destination`` may not be deleted now ('' when it may): what sends through it."""
    return in_use(selectors.users_of(destination=destination))


@transaction.atomic
def delete_destination(*, destination: Destination) -> None:
    """Deletes the destination with its secrets and dead letters; refused, with what
    uses it, while a campaign not finished sends through it."""
    Destination.objects.select_for_update().filter(pk=destination.pk).first()
    problem = deletion_problem(destination=destination)
    if problem:
        raise DestinationInUse(problem)
    audit.record(
        action="destination.delete", target=destination, details={"name": destination.name}
    )
    destination.delete()


def rotate_encryption(*, batch_size: int = 500) -> int:
    """Re-encrypts every destination's secrets with the first key. Returns how many."""
    count = 0
    with transaction.atomic():
        rows = (
            Destination.objects.exclude(secrets_encrypted="")
            .select_for_update()
            .only("id", "secrets_encrypted")
        )
        for destination in rows.iterator(chunk_size=batch_size):
            rotated = crypto.rotate(destination.secrets_encrypted)
            Destination.objects.filter(pk=destination.pk).update(secrets_encrypted=rotated)
            count += 1
    return count


# --- connection test ------------------------------------------------------------------


def record_test(*, destination: Destination) -> tuple[bool, str]:

    ok, message = adapters.test_connection(destination)
    destination.last_test_at = timezone.now()
    destination.last_test_ok = ok
    destination.last_test_message = message[:300]
    destination.save(update_fields=["last_test_at", "last_test_ok", "last_test_message"])
    return ok, message


# --- webhook delivery, dead letters, replay -------------------------------------------

WEBHOOK_ATTEMPTS = 5


def retry_delay(attempt: int) -> int:
    """Seconds before retry ``attempt`` (1-based): 10, 20, 40, 80 ... capped at 1 hour."""
    return min(10 * 2 ** (attempt - 1), 3600)


def deliver_webhook(*, destination: Destination, payload: dict, idempotency_key: str) -> int:
    """One attempt; raises ``adapters.DestinationError`` (the task decides on retry)."""

    return adapters.post_webhook(destination, payload=payload, idempotency_key=idempotency_key)


@transaction.atomic
def record_dead_letter(
    *,
    destination: Destination,
    payload: dict,
    idempotency_key: str,
    error: str,
    attempts: int,
) -> DeadLetter:
    return DeadLetter.objects.create(
        destination=destination,
        payload=payload,
        idempotency_key=idempotency_key,
        error=error,
        attempts=attempts,
    )


def purge_dead_letters(*, now=None) -> int:
    """Dead letters older than DESTINATIONS_DEAD_LETTER_RETENTION_DAYS, replayed or not: a
    payload nobody replayed in that time is abandoned, and it holds personal data."""
    cutoff = retention.cutoff("DESTINATIONS_DEAD_LETTER_RETENTION_DAYS", now=now)
    if cutoff is None:
        return 0
    return retention.delete_in_batches(DeadLetter.objects.filter(created_at__lt=cutoff))


def replay_dead_letter(*, dead_letter: DeadLetter) -> tuple[bool, str]:
    """Sends the dead letter again, same payload and idempotency key. On success it is
    marked replayed; on failure its error and attempt count are updated."""

    letter = DeadLetter.objects.select_related("destination").get(pk=dead_letter.pk)
    if letter.replayed_at:
        return True, "Already replayed."
    try:
        status = deliver_webhook(
            destination=letter.destination,
            payload=letter.payload,
            idempotency_key=letter.idempotency_key,
        )
    except adapters.DestinationError as exc:
        letter.attempts += 1
        letter.error = exc.message
        letter.save(update_fields=["attempts", "error"])
        dead_letter.refresh_from_db()
        return False, exc.message
    letter.replayed_at = timezone.now()
    letter.attempts += 1
    letter.save(update_fields=["replayed_at", "attempts"])
    dead_letter.refresh_from_db()
    return True, f"Delivered (HTTP {status})."


# --- erasure of a person (a privacy request's propagation) ----------------------------


def erasure_action(*, destination: Destination) -> str | None:
    """What erasing a person asks of ``destination``: "delete_member",
    "remove_from_audience", "delete_webhook", "by_hand" (no API: a person does it), or
    None (it holds nothing to delete: SMTP)."""
    return erasure.ACTIONS.get(destination.kind)


def erase_person(*, destination: Destination, person: dict) -> str:
    """Asks ``destination`` to delete ``person`` (see erasure.py for the dict and what each
    kind receives). Returns what it answered, in words; raises
    ``adapters.DestinationError`` (``retryable`` says whether trying later can help)."""
    action = erasure_action(destination=destination)
    eraser = erasure.ERASERS.get(action or "")
    if eraser is None:
        raise adapters.DestinationError(
            f"{destination.name} has no API to delete a person: it is handled by hand.",
            retryable=False,
        )
    return eraser(destination, person)


# --- scheduled CSV exports ------------------------------------------------------------


def due_exports(*, now=None) -> list[Destination]:
    now = now or timezone.now()
    due = []
    for destination in Destination.objects.filter(kind=Destination.Kind.CSV_EXPORT, enabled=True):
        config = destination.config or {}
        if not config.get("segment_id") or not config.get("every_hours"):
            continue
        last = config.get("last_export_at")
        if last:
            last_at = timezone.datetime.fromisoformat(last)
            if last_at + timedelta(hours=int(config["every_hours"])) > now:
                continue
        due.append(destination)
    return due


def export_rows(*, destination: Destination, rows, name: str, now=None):
    """Writes the CSV and notes when, so the schedule moves on."""

    path = adapters.export_segment_csv(destination, rows=rows, name=name)
    now = now or timezone.now()
    config = dict(destination.config or {})
    config["last_export_at"] = now.isoformat()
    config["last_export_file"] = path.name
    Destination.objects.filter(pk=destination.pk).update(config=config)
    destination.config = config
    return path
