"""The Segment message rules: required ids, types, sizes, clock skew, context merging.

``prepare`` turns one client message into a storable row or a ``Rejection``; nothing
here touches the database, so file imports and webhooks run the same rules.
"""

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from integrations import conf

from .verification import verified

TYPES = ("identify", "track", "page", "screen", "group", "alias")
OBJECT_FIELDS = ("context", "integrations", "properties", "traits")
MAX_MESSAGE_ID = 100
# userId, anonymousId, previousId and groupId are indexed: a btree entry holds at most
# about 2.7 kB, so an id of 3 kB would fail the whole insert. 1 kB is far above any real id.
MAX_ID_BYTES = 1024
MAX_NAME = 200  # an event's or a page's name, as profiles store and rules match it
_CONTAINERS = (dict, list)
# One encoder for every message rather than one built per json.dumps call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    reason: str
    payload: object


@dataclass(frozen=True, slots=True)
class Row:
    message_id: str
    type: str
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    payload: str  # the JSON text stored as jsonb


@dataclass(frozen=True, slots=True)
class Trust:
    """How far a source's calls are believed (integrations.models.Source.trust).

    A server source's calls are trusted. A client source's calls link to a known customer
    only by what a signature from the site's backend verifies (collect/verification.py),
    or by anything when the admin turned verification off (``require_verification``).
    """

    client: bool = False
    require_verification: bool = True
    secrets: tuple[str, ...] = ()


SERVER = Trust()
TRUST_KEY = "cdpTrust"  # the verdict, stored in the payload for processing to read
_SERVER_VERDICT = {"level": "server"}


def trust_verdict(message: dict, trust: Trust) -> dict:
    """What processing may believe of this message: {"level": "server"}, or for a client
    source {"level": "client", "verified": [fields], "unverifiedLinks": bool}."""
    if not trust.client:
        return _SERVER_VERDICT
    return {
        "level": "client",
        "verified": verified(message, trust.secrets),
        "unverifiedLinks": not trust.require_verification,
    }


class Invalid(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def merge_batch_defaults(item: dict, envelope: dict) -> dict:
    """A batch's top-level context, integrations and sentAt apply to items lacking their own."""
    merged = dict(item)
    for key in ("context", "integrations"):
        top = envelope.get(key)
        if isinstance(top, dict) and top:
            own = item.get(key)
            merged[key] = {**top, **own} if isinstance(own, dict) else dict(top)
    if "sentAt" not in item and envelope.get("sentAt") is not None:
        merged["sentAt"] = envelope["sentAt"]
    return merged


def _id(message: dict, key: str) -> str | None:
    value = message.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid("invalid_type", f"{key} must be a string.")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid("invalid_type", f"{key} must be a string.")
    text = str(value)
    if len(text) * 4 > MAX_ID_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
        raise Invalid("id_too_long", f"{key} is longer than {MAX_ID_BYTES} bytes.")
    return text


def _time(message: dict, key: str) -> datetime | None:
    value = message.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid("invalid_type", f"{key} must be an ISO-8601 string.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("invalid_timestamp", f"{key} is not an ISO-8601 date-time.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _not_finite(key: str):
    # JSON has no NaN or Infinity; a literal like 1e999 parses to inf, which jsonb refuses.
    return Invalid("invalid_number", f"{key} is a number too large to store.")


def _check_values(message: dict, *, max_depth: int) -> None:
    """Depth cap, strings PostgreSQL's jsonb refuses (NUL) and numbers it cannot hold
    (1e999 parses to inf), walked without recursion."""
    # Hot loop (every value of every message): strings are tested first, containers are
    # matched against a tuple, and the stack's methods are bound once.
    stack = [(message, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        if depth > max_depth:
            raise Invalid("too_deep", f"The message is nested deeper than {max_depth} levels.")
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise Invalid("invalid_string", "A key contains a NUL character.")
                if isinstance(item, str):
                    if "\x00" in item:
                        raise Invalid("invalid_string", f"{key} contains a NUL character.")
                elif isinstance(item, _CONTAINERS):
                    push((item, depth + 1))
                elif isinstance(item, float) and not math.isfinite(item):
                    raise _not_finite(key)
        else:
            for item in value:
                if isinstance(item, str):
                    if "\x00" in item:
                        raise Invalid("invalid_string", "A string contains a NUL character.")
                elif isinstance(item, _CONTAINERS):
                    push((item, depth + 1))
                elif isinstance(item, float) and not math.isfinite(item):
                    raise _not_finite("A list item")


def _validate(message: dict, type_: str) -> tuple[str | None, str | None]:
    user_id = _id(message, "userId")
    anonymous_id = _id(message, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise Invalid("no_user_anon_id", "The message needs a userId or an anonymousId.")
    for key in OBJECT_FIELDS:
        if message.get(key) is not None and not isinstance(message[key], dict):
            raise Invalid("invalid_type", f"{key} must be an object.")
    if type_ == "track":
        event = message.get("event")
        if not isinstance(event, str) or not event.strip():
            raise Invalid("missing_event", "A track message needs an event name.")
    elif type_ == "alias":
        if _id(message, "previousId") is None or user_id is None:
            raise Invalid("missing_alias_ids", "An alias message needs previousId and userId.")
    elif type_ == "group" and _id(message, "groupId") is None:
        raise Invalid("missing_group_id", "A group message needs a groupId.")
    for key in ("event", "name"):
        if message.get(key) is not None and not isinstance(message[key], str):
            raise Invalid("invalid_type", f"{key} must be a string.")
        if isinstance(message.get(key), str) and len(message[key]) > MAX_NAME:
            raise Invalid("name_too_long", f"{key} is longer than {MAX_NAME} characters.")
    return user_id, anonymous_id


def _message_id(message: dict) -> str:
    value = _id(message, "messageId")
    if value is None:
        return str(uuid.uuid4())
    if len(value) > MAX_MESSAGE_ID:
        raise Invalid("invalid_message_id", f"messageId is longer than {MAX_MESSAGE_ID}.")
    return value


def _stored_context(context: dict | None, ip: str | None) -> dict:
    """The context as stored: the client's address added, and the identity verification
    left out (the verdict under TRUST_KEY says what it proved; the proof itself is no
    data about the person, and every event of a signed-in visitor carries it)."""
    context = dict(context or {})
    context.pop("identityVerification", None)
    if ip and (context.get("direct") is True or not context.get("ip")):
        context["ip"] = ip
    return context


def _event_time(original, sent_at, received_at: datetime) -> datetime:
    """Clock skew: the device's offset, measured when it sent, is removed from event time."""
    if not (original and sent_at):
        return original or received_at
    try:
        return received_at - (sent_at - original)
    except OverflowError:  # year 1 against year 9999: no such device clock
        raise Invalid(
            "invalid_timestamp", "timestamp and sentAt are too far apart to correct for skew."
        ) from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def prepare(
    message,
    *,
    type_: str | None,
    received_at: datetime,
    ip: str | None = None,
    trust: Trust = SERVER,
) -> Row | Rejection:
    """One client message → a Row to store, or the reason it is refused.

    ``type_`` is the endpoint's type (``/v1/track``) or None for batch items, which
    carry their own. ``trust``: the source's, to judge the message's identity claims;
    the verdict is stored with it (a sender's own ``cdpTrust`` is replaced).
    """
    if not isinstance(message, dict):
        return Rejection("invalid_message", "A message must be a JSON object.", message)
    try:
        kind = type_ or message.get("type")
        if kind not in TYPES:
            raise Invalid("invalid_type", f"type must be one of {', '.join(TYPES)}.")
        _check_values(message, max_depth=conf.get("COLLECT_MAX_DEPTH"))
        user_id, anonymous_id = _validate(message, kind)
        message_id = _message_id(message)
        original = _time(message, "timestamp")
        sent_at = _time(message, "sentAt")
        timestamp = _event_time(original, sent_at, received_at)
        stored = {key: value for key, value in message.items() if key != "writeKey"}
        stored.update(
            type=kind,
            messageId=message_id,
            context=_stored_context(message.get("context"), ip),
            timestamp=_iso(timestamp),
            originalTimestamp=_iso(original),
            receivedAt=_iso(received_at),
        )
        stored[TRUST_KEY] = trust_verdict(message, trust)
        text = _ENCODER.encode(stored)
        size = len(text.encode("utf-8"))
        limit = conf.get("COLLECT_MAX_MESSAGE_BYTES")
        # The client's own message is what the limit is about: server-added fields and the
        # batch's merged context should not push a message just under it over.
        if size > limit and len(json.dumps(message).encode()) > limit:
            raise Invalid("message_too_large", f"The message exceeds {limit} bytes.")
    except Invalid as exc:
        return Rejection(exc.code, exc.reason, message)
    except UnicodeEncodeError:
        return Rejection("invalid_string", "A string is not valid Unicode.", message)
    return Row(
        message_id=message_id,
        type=kind,
        event=message.get("event") if kind == "track" else message.get("name"),
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp=timestamp,
        original_timestamp=original,
        sent_at=sent_at,
        payload=text,
    )
