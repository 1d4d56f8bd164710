"""A look at a stream's first records before a run stores any: read one page, map it by the
connection's rules and check the messages as the collection API would. Read-only: no
cursor moves, nothing is stored, no request budget is spent beyond the one read.

Others may use: ``preview_stream``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from django.utils import timezone

from integrations.collect.messages import Rejection, prepare
from integrations.webhooks.mapping import RuleError, parse_rules

from .base import ConnectorError
from .models import Connection
from .records import Mapper
from .registry import kind_of
from .sync import effective_stream, reader_for

logger = logging.getLogger(__name__)

SHOWN = 20


@dataclass(frozen=True)
class PreviewRow:
    record: object
    message: dict | None  # what the record becomes (None when it cannot become one)
    reason: str = ""  # why it would be rejected ("" when it would be stored)
    code: str = ""

    # As JSON text, for the page.
    @property
    def record_text(self) -> str:
        return json.dumps(self.record, default=str, ensure_ascii=False)

    @property
    def message_text(self) -> str:
        return json.dumps(self.message, default=str, ensure_ascii=False) if self.message else ""


@dataclass
class Preview:
    stream: str
    rows: list[PreviewRow] = field(default_factory=list)
    records: int = 0  # on the page read (rows holds the first SHOWN)
    more: bool = False  # the service has more pages
    note: str = ""
    error: str = ""
    code: str = ""

    @property
    def rejected(self) -> int:
        return sum(1 for row in self.rows if row.reason)


def preview_stream(*, connection: Connection, stream: str, rules: str | None = None) -> Preview:
    """The first page of ``stream`` as it would be stored. ``rules``: mapping text to try
    instead of the saved one. Errors (the service's, a bad stream or bad rules) are in
    ``error`` and ``code``, as the API and the page show them."""
    try:
        kind = kind_of(connection.kind)
        spec = effective_stream(connection, kind.stream(stream))
    except ConnectorError as exc:
        return Preview(stream=stream, error=exc.message, code=exc.code)
    except KeyError:
        return Preview(stream=stream, error=f"No stream {stream!r} here.", code="stream")
    try:
        mapping = (
            parse_rules(rules)
            if rules is not None
            else (connection.streams.get(stream) or {}).get("rules")
        )
    except RuleError as exc:
        return Preview(stream=stream, error=str(exc), code="rules")
    if mapping is None:
        mapping = parse_rules(spec.rules)
    try:
        page = kind.read(reader_for(connection), stream=spec, cursor=None)
    except ConnectorError as exc:
        return Preview(stream=stream, error=exc.message, code=exc.code)
    except (ValueError, TypeError, KeyError, AttributeError):
        # A kind tripping over a setting it did not expect: the admin sees a message, the
        # log keeps the traceback for whoever maintains the kind.
        logger.exception("preview of connection %s, stream %s", connection.id, stream)
        return Preview(
            stream=stream,
            error="The connector could not read this stream with these settings.",
            code="config",
        )
    mapper = Mapper(
        connection_id=connection.id or 0,
        stream=spec,
        rules=mapping,
        trigger_after=connection.trigger_after,
        history=True,
    )
    now = timezone.now()
    return Preview(
        stream=stream,
        rows=[_row(mapper, record, now) for record in page.records[:SHOWN]],
        records=len(page.records),
        more=not page.done,
        note=page.note,
    )


def _row(mapper: Mapper, record, now) -> PreviewRow:
    try:
        message = mapper.message(record)
    except ValueError as exc:
        return PreviewRow(record=record, message=None, reason=str(exc), code="connector_record")
    checked = prepare(message, type_=None, received_at=now)
    if isinstance(checked, Rejection):
        return PreviewRow(record=record, message=message, reason=checked.reason, code=checked.code)
    return PreviewRow(record=record, message=message)
