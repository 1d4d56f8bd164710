"""What both Mailchimp streams share: where the account's API answers, how a request is
authenticated, and Mailchimp's own words for a refused key.

The API answers at ``https://<dc>.api.mailchimp.com/3.0/``, where ``dc`` is the API key's
suffix after its last '-' (``…-us21``). A connection left at the default base URL reads
from the key's data centre; one pointed at another Mailchimp host must match the key.
Authentication is HTTP Basic with any user name and the key as password.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from ..base import ConnectorError, Field

DEFAULT_BASE_URL = "https://api.mailchimp.com/3.0/"
DEFAULT_HOST = "api.mailchimp.com"
MAX_COUNT = 1000  # Mailchimp's largest page


def data_centre(key: str) -> str:
    """The key's data centre (``us21``), or "" when the key has none."""
    _, dash, dc = key.strip().rpartition("-")
    return dc.lower() if dash and dc.isalnum() else ""


def base_url_for(base_url: str, secrets: dict) -> str:
    """The default host becomes the key's data centre; any other URL is kept (a proxy,
    the local imitation, or a Mailchimp host ``preflight`` compares with the key)."""
    dc = data_centre(str(secrets.get("api_key", "")))
    if dc and (urlsplit(base_url).hostname or "").lower() == DEFAULT_HOST:
        return f"https://{dc}.api.mailchimp.com/3.0/"
    return base_url


# The kind's settings (mailchimp.py's KIND declares them), here so that their defaults
# are read without importing the kind back.
CONFIG = (
    Field("list_id", "Audience (list) id", required=True, help="Audience → Settings"),
    Field(
        "activity_days",
        "Campaign activity window (days)",
        type="int",
        default=30,
        help="Opens and clicks are read for campaigns sent this many days back.",
    ),
    Field("page_size", "Page size", type="int", default=MAX_COUNT),
)


def config(reader) -> dict:
    defaults = {f.name: f.default for f in CONFIG if f.default is not None}
    return defaults | {k: v for k, v in reader.config.items() if v not in (None, "")}


def page_size(conf: dict) -> int:
    try:
        size = int(conf.get("page_size") or MAX_COUNT)
    except (TypeError, ValueError):
        raise ConnectorError("page_size: a whole number from 1 to 1000.", code="config") from None
    return min(max(size, 1), MAX_COUNT)


def list_path(conf: dict, tail: str = "") -> str:
    list_id = str(conf.get("list_id") or "").strip()
    if not list_id:
        raise ConnectorError("Enter the audience (list) id to read.", code="config")
    return f"lists/{quote(list_id, safe='')}{tail}"


def preflight(reader) -> dict:
    """The headers that authenticate; ConnectorError for a key that cannot work here."""
    key = str(reader.secrets.get("api_key", "")).strip()
    if not key:
        raise ConnectorError("Enter the Mailchimp API key.", code="config")
    dc = data_centre(key)
    host = (urlsplit(reader.base_url).hostname or "").lower()
    if host == DEFAULT_HOST and not dc:
        raise ConnectorError(
            "A Mailchimp API key ends in its data centre (…-us21); this one has none. Copy "
            "the whole key from Account → Extras → API keys.",
            code="config",
        )
    if host.endswith("." + DEFAULT_HOST) and dc and host.split(".")[0] != dc:
        raise ConnectorError(
            f"The API key belongs to data centre {dc}, but the base URL points at {host}. "
            f"Leave the base URL at its default or use https://{dc}.api.mailchimp.com/3.0/.",
            code="config",
        )
    token = base64.b64encode(f"cdp:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def get(reader, path: str, *, headers: dict, params: dict | None = None):
    """One GET; a 401 says what Mailchimp means by it."""
    try:
        return reader.get(path, params=params, headers=headers)
    except ConnectorError as exc:
        if exc.code == "auth":
            raise ConnectorError(
                "Mailchimp refused the API key (401 API Key Invalid): it is wrong, revoked, "
                "or of another data centre than the base URL's (the key's suffix, e.g. "
                "-us21, names its data centre). Enter a valid key.",
                code="auth",
                status=exc.status,
            ) from None
        raise


def no_audience(conf: dict) -> ConnectorError:
    return ConnectorError(
        f"This Mailchimp account has no audience with id {conf.get('list_id')!r}. Copy the "
        "id from Audience → Settings → Audience name and defaults.",
        code="config",
        status=404,
    )


def get_from_list(reader, conf: dict, tail: str, *, headers: dict, params: dict | None = None):
    """A GET under the configured audience; its 404 says the audience is not there."""
    try:
        return get(reader, list_path(conf, tail), headers=headers, params=params)
    except ConnectorError as exc:
        if exc.status == 404:
            raise no_audience(conf) from None
        raise


def items(body, name: str) -> tuple[list, int | None]:
    """The list ``name`` of an answer and its ``total_items``."""
    found = body.get(name) if isinstance(body, dict) else None
    if not isinstance(found, list):
        raise ConnectorError(f"Mailchimp's answer holds no {name} list.")
    total = body.get("total_items")
    return found, total if isinstance(total, int) and not isinstance(total, bool) else None


def more(offset: int, got: int, size: int, total: int | None) -> bool:
    """Whether a collection read at ``offset`` has another page."""
    if got < size or got == 0:
        return False
    return total is None or offset + got < total


def iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def now() -> datetime:
    return datetime.now(UTC)
