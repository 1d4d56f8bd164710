"""What a connector kind is, what one read returns, and the errors a read may raise.

A kind is one module under ``kinds/`` holding a ``Kind`` as ``KIND``, listed in
``registry.py``. It declares:

- ``key`` (stored on the connection), ``label``, ``source_kind`` (the ``Source.Kind`` its
  connections' sources get) and ``default_base_url`` (the public service; a company's own
  instance, a regional host or a local imitation replaces it per connection);
- ``config`` and ``secrets``: the fields of its configuration form. Secrets are stored
  encrypted and never shown back;
- ``streams``: what it can read (contacts, orders...), each with its primary key, the
  record's updated-at (for message ids and the "history never triggers" rule) and a
  default mapping to identify / track / group calls in the webhook mapping grammar;
- ``check(reader)``: a "Test connection" that raises ``ConnectorError`` with a message an
  admin can act on (or returns the message to show on success, e.g. "12 files match"),
  and ``read(reader, stream=, cursor=)``: one bounded page (``Page``).

A read never writes: the sync (``sync.py``) stores a page's records and its cursor in one
transaction. A read may reject a record it cannot shape (``Page.rejected``), ask for a
pause before the next page (``Page.wait``, e.g. when the service's budget runs low) and
say how many records remain when the service tells it cheaply (``Page.remaining``: the
run page's ETA); it stores a credential the service issued during the read (a refreshed
token) with ``reader.save_secrets``.
``cursor`` is whatever JSON the kind needs to go on (a page token, an updated-at lower
bound), None on the first read of a stream.

A stream whose records are not messages (a file drop's "one new file → one file
import", a shop's products for the catalogue) names its own ``store``: the sync calls it
instead of storing messages, in the same transaction as the cursor, and runs what it
returns as ``Stored.after_commit`` once that transaction has committed (moving the file
to done/, say). Its ``message_kind`` is a label; no per-connection setting changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class ConnectorError(Exception):
    """A read or check that failed; ``message`` is safe to show to an admin.

    ``retryable``: trying again later can help (a 5xx, a timeout). ``code`` names the kind
    of failure for the API (auth, permission, unreachable, tls, answer, config, loop).
    ``response``: the service's answer when it refused (the Reader sets it), so that a kind
    can show the service's own explanation (the scopes a token lacks, the limit it hit).
    ``status``: the HTTP status the service answered, when it answered (a kind may turn a
    404 into "no such audience")."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        code: str = "answer",
        status: int | None = None,
    ):
        super().__init__(message)
        self.message, self.retryable, self.code = message, retryable, code
        self.response = None
        self.status = status

    def __str__(self) -> str:
        return self.message


class RateLimited(ConnectorError):
    """The service (or the connection's own request budget) asks to wait ``retry_after``
    seconds; the run waits and goes on, it does not fail."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, retryable=True, code="rate_limited")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str = "text"  # text | int | bool | choice | textarea
    required: bool = False
    default: object = None
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Stream:
    name: str
    label: str
    primary_key: str  # JSON path into a record, e.g. "$.id"
    message_kind: str  # identify | track | group (a stream with its own store: a label)
    rules: str  # default mapping, webhook grammar: "traits.email = $.properties.email"
    # JSON path of the record's last change, e.g. "$.updatedAt"; "" when the service has
    # none (every read is then a full read and message ids rest on the key alone).
    updated_at: str = ""
    # True: one message per record however often it changes (an order is one "Order
    # Completed"); its later versions are deduplicated by the events table.
    once_per_record: bool = False
    help: str = ""
    # Replaces message storage for this stream: (connection=, stream=, page=, reader=,
    # now=) -> Stored, called inside the slice's transaction (it must only write the
    # database; anything else goes in Stored.after_commit). None: records → messages.
    store: object = None


# What an admin may change of a stream, per connection (Connection.streams[name]).
STREAM_OVERRIDES = ("primary_key", "updated_at", "message_kind")
MESSAGE_KINDS = ("identify", "track", "group")
CATALOG = "catalog"  # the label of a stream of products (stored by its own store)


@dataclass
class Page:
    records: list[dict]
    cursor: object  # stored after this page's records, passed to the next read
    done: bool  # the stream has nothing more for now
    note: str = ""  # shown on the run page, e.g. "moved the lower bound past 10,000"
    # (reason, record) of records the read could not shape; kept beside the run's others.
    rejected: list[tuple[str, object]] = field(default_factory=list)
    wait: float = 0.0  # seconds to wait before the next page (the service's budget is low)
    # Records of this stream still to read after this page, when the service says so
    # cheaply (a search's total, one COUNT); None: unknown, the run counts down its last.
    remaining: int | None = None


@dataclass
class Stored:
    """What a stream's own ``store`` kept of a page: the run's counters, the records it
    refused (``Rejection``s, shown on the run page) and what to do after the commit."""

    stored: int = 0
    duplicates: int = 0
    rejections: list = field(default_factory=list)
    after_commit: object = None  # () -> None; its failure is logged, the page stays stored


class Reader(Protocol):
    """What a kind's ``check`` and ``read`` are handed (``sync.Reader``)."""

    base_url: str
    config: dict
    secrets: dict

    def get(self, path: str, *, params: dict | None = None, headers: dict | None = None): ...

    def post(self, path: str, *, json: object, headers: dict | None = None): ...

    def calls_to_spare(self, most: int) -> int: ...

    def save_secrets(self, changed: dict) -> None: ...


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    source_kind: str
    default_base_url: str
    streams: tuple[Stream, ...]
    read: object  # (reader, *, stream: Stream, cursor) -> Page
    check: object  # (reader) -> None, raises ConnectorError
    config: tuple[Field, ...] = ()
    secrets: tuple[Field, ...] = ()
    help: str = ""
    # The service's own limit, used when the admin sets none (requests a minute).
    default_budget: int = 600
    # (stored base URL, secrets) -> the base URL to read: a service whose host depends on
    # the credentials (Mailchimp's data centre is the API key's suffix). None: as stored.
    base_url_for: object = None
    # Settings that say where the secrets are sent (an SFTP host, its port, the user):
    # changing one forgets the secrets, as changing base_url does.
    secrets_bound_to: tuple[str, ...] = ()
    # (config) -> {field: message}: what the fields alone cannot say (one of two settings,
    # a query that must be a SELECT), checked when a connection is saved.
    validate: object = None
    # (config, stream) -> Stream: the stream as the connection's settings shape it (the
    # SQL kind's key and incremental columns); the admin's stream overrides still win.
    configure_stream: object = None
    extra: dict = field(default_factory=dict)

    def stream(self, name: str) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise KeyError(name)
