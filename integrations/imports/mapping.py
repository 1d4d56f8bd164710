"""A file row → a Segment message (identify or track), by the source's column mapping.

Pure functions: nothing here touches the database. Message ids are derived from the
source and the row key (or the file hash and line number), so a re-imported file is
deduplicated by the events table's (source, messageId) key.
"""

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

TYPES = ("text", "number", "boolean", "date")
KINDS = ("identify", "track")
TRUE = {"true", "yes", "y", "1", "t", "on", "x"}
FALSE = {"false", "no", "n", "0", "f", "off", ""}
DATE_FORMATS = ("%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y")


class RowError(Exception):
    """The row cannot become a message; the text names the column and the problem."""


@dataclass
class Mapping:
    row_kind: str = "identify"
    event_name: str = ""
    user_id_column: str = ""
    anonymous_id_column: str = ""
    email_column: str = ""
    timestamp_column: str = ""
    row_key_column: str = ""
    fields: list[dict] = field(default_factory=list)  # {"column", "name", "type"}

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Mapping":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def problems(self, columns: list[str] | None = None) -> dict[str, str]:
        """Field → message for an unusable mapping (empty when it is fine)."""
        errors = {}
        if self.row_kind not in KINDS:
            errors["row_kind"] = "Choose identify or track."
        if self.row_kind == "track" and not self.event_name.strip():
            errors["event_name"] = "An order / event row needs an event name."
        if not (self.user_id_column or self.anonymous_id_column or self.email_column):
            errors["user_id_column"] = "Choose a userId, anonymousId or e-mail column."
        named = [
            self.user_id_column,
            self.anonymous_id_column,
            self.email_column,
            self.timestamp_column,
            self.row_key_column,
        ]
        for item in self.fields:
            if not isinstance(item, dict) or not item.get("column") or not item.get("name"):
                errors["fields"] = "Each field needs a column and a name."
                break
            if item.get("type", "text") not in TYPES:
                errors["fields"] = f"Types are {', '.join(TYPES)}."
                break
            named.append(item["column"])
        if columns is not None:
            missing = sorted({c for c in named if c and c not in columns})
            if missing:
                errors["columns"] = f"Not in the file: {', '.join(missing)}."
        return errors


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def convert(value, type_: str, column: str):
    """A cell as text / number / boolean / date (ISO string); None when empty."""
    if isinstance(value, dict | list):  # JSON lines: nested values are kept as they are
        if type_ == "text":
            return value
        raise RowError(f"{column}: a nested value is not a {type_}.")
    if type_ != "text" and isinstance(value, bool | int | float) and type_ != "date":
        return bool(value) if type_ == "boolean" else value
    text = _text(value)
    if text == "":
        return None
    if type_ == "number":
        cleaned = text.replace(" ", "").replace("\u00a0", "")
        if "," in cleaned and "." not in cleaned:
            cleaned = cleaned.replace(",", ".")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise RowError(f"{column}: {text!r} is not a number.") from None
        if not number.is_finite():
            raise RowError(f"{column}: {text!r} is not a number.")
        return int(number) if number == number.to_integral_value() else float(number)
    if type_ == "boolean":
        lowered = text.lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise RowError(f"{column}: {text!r} is not yes/no.")
    if type_ == "date":
        return parse_date(text, column).isoformat()
    return text


def parse_date(text: str, column: str) -> date | datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).date()  # noqa: DTZ007
            except ValueError:
                continue
        raise RowError(f"{column}: {text!r} is not a date.")
    if len(text) <= 10:
        return parsed.date()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _timestamp(text: str, column: str) -> str:
    parsed = parse_date(text, column)
    if not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
    return parsed.isoformat()


def message_id(*, source_id: int, kind: str, key: str | None, file_sha256: str, line: int) -> str:
    basis = f"key:{kind}:{key}" if key else f"line:{file_sha256}:{line}"
    return f"import-{source_id}-" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def email_anonymous_id(email: str) -> str:
    """A stable anonymousId for rows identified only by an e-mail (Segment needs an id)."""
    return "email-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def to_message(
    values: dict, *, mapping: Mapping, source_id: int, file_sha256: str, line: int, context: dict
) -> dict:
    """One row → one message; raises RowError naming the column when a value is unusable."""
    user_id = _text(values.get(mapping.user_id_column)) if mapping.user_id_column else ""
    anonymous_id = (
        _text(values.get(mapping.anonymous_id_column)) if mapping.anonymous_id_column else ""
    )
    email = _text(values.get(mapping.email_column)) if mapping.email_column else ""
    if not (user_id or anonymous_id or email):
        raise RowError("No userId, anonymousId or e-mail in this row.")
    key = _text(values.get(mapping.row_key_column)) if mapping.row_key_column else ""
    if mapping.row_key_column and not key:
        raise RowError(f"{mapping.row_key_column}: the row key is empty.")
    data = {}
    for item in mapping.fields:
        converted = convert(values.get(item["column"]), item.get("type", "text"), item["column"])
        if converted is not None:
            data[item["name"]] = converted
    message = {
        "type": mapping.row_kind,
        "messageId": message_id(
            source_id=source_id,
            kind=mapping.row_kind,
            key=key or None,
            file_sha256=file_sha256,
            line=line,
        ),
        "context": dict(context),
    }
    if user_id:
        message["userId"] = user_id
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    elif not user_id:
        message["anonymousId"] = email_anonymous_id(email)
    if email:
        if mapping.row_kind == "identify":
            data.setdefault("email", email)
        else:
            message["context"]["traits"] = {"email": email}
    if mapping.timestamp_column:
        stamp = _text(values.get(mapping.timestamp_column))
        if stamp:
            message["timestamp"] = _timestamp(stamp, mapping.timestamp_column)
    if mapping.row_kind == "track":
        message["event"] = mapping.event_name.strip()
        message["properties"] = data
    else:
        message["traits"] = data
    return message
