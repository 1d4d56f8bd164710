"""A page of records → Segment messages, by the stream's mapping. Pure functions.

Message ids are derived from the connection, the stream, the record's primary key and its
updated-at, so a page read twice (a retried slice, a worker killed before its commit, an
overlap window) is stored once, and a record changed since is stored again. A stream
marked ``once_per_record`` leaves the updated-at out: its record is one message forever.

A record whose last change is older than the connection's ``trigger_after`` carries
``context.backfill = true``: it lands with its own timestamp but never starts a journey
or an event-triggered campaign (profiles keeps the flag beside the event). So does, on a
first or full read, a record whose service gives no updated-at.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from integrations.collect.messages import Rejection
from integrations.webhooks.mapping import MISSING, compile_rules, message_from, parse_path, resolve

from .base import Stream

LIBRARY = "cdp-connector"


def message_id(*, connection_id: int, stream: str, key, updated) -> str:
    # Joined by the unit separator, which the ids and times services send do not hold (a
    # plain join, not json.dumps: this runs for every record of every sync).
    text = f"{connection_id}\x1f{stream}\x1f{key}\x1f{'' if updated is None else updated}"
    return "conn-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def parse_time(value) -> datetime | None:
    """An updated-at as services send it: ISO 8601 text, or Unix seconds / milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def newest(values, seen: str | None) -> str | None:
    """The newest of ``seen`` and the updated-at ``values`` (a page's), as the service
    wrote it; values that are no time are passed over. The cursor of kinds that read
    "changed since", sent back to the service: it stays in the form the stream first
    gave (ISO text, or Unix seconds or milliseconds), so that an updated-at whose type
    changes from one page to the next (text, then a number) does not change the form of
    the changed-since parameter the service is sent."""
    best, best_time = seen, parse_time(seen)
    form = seen if best_time is not None else None
    for value in values:
        when = parse_time(value)
        if when is None:
            continue
        if form is None:
            form = value
        if best_time is None or when > best_time:
            best, best_time = value, when
    return best if best_time is None else _written_like(form, best, best_time)


def _written_like(form, value, when: datetime):
    """``value`` (the time ``when``) in the form of ``form``, a time the stream gave."""
    if isinstance(form, str):
        if isinstance(value, str):
            return value  # text as the service wrote it, whatever its offset
        text = when.astimezone(UTC).isoformat()
        return text.replace("+00:00", "Z") if form.endswith("Z") else text
    in_millis = form > 10**11
    if isinstance(value, int | float) and (value > 10**11) == in_millis:
        return value
    return int(when.timestamp() * 1000) if in_millis else int(when.timestamp())


class Mapper:
    """One stream's records → messages for one connection (rules compiled once)."""

    def __init__(
        self, *, connection_id: int, stream: Stream, rules: list[dict], trigger_after, history
    ):
        self.connection_id = connection_id
        self.stream = stream
        self.compiled = compile_rules(rules)
        self.key_path = parse_path(stream.primary_key)
        self.updated_path = parse_path(stream.updated_at) if stream.updated_at else None
        self.trigger_after = trigger_after
        # A first or full read: records with no updated-at are history too.
        self.history = history

    def messages(self, records: list) -> tuple[list[dict], list[Rejection]]:
        messages, rejections = [], []
        for record in records:
            try:
                messages.append(self.message(record))
            except ValueError as exc:
                rejections.append(Rejection("connector_record", str(exc), record))
        return messages, rejections

    def message(self, record) -> dict:
        if not isinstance(record, dict):
            raise ValueError("The record is not a JSON object.")
        key = resolve(record, self.key_path)
        if key is MISSING or key in (None, ""):
            raise ValueError(f"The record has no primary key ({self.stream.primary_key}).")
        updated = resolve(record, self.updated_path) if self.updated_path else MISSING
        updated = None if updated is MISSING else updated
        message = message_from(
            record, kind=self.stream.message_kind, compiled=self.compiled, library=LIBRARY
        )
        message["messageId"] = message_id(
            connection_id=self.connection_id,
            stream=self.stream.name,
            key=key,
            updated=None if self.stream.once_per_record else updated,
        )
        changed = parse_time(updated)
        if self.history if changed is None else changed < self.trigger_after:
            message["context"]["backfill"] = True
        return message
