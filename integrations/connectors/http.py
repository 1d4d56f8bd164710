"""The HTTP side of a read: one connection's service, through the safe outgoing client.

``Reader`` is what a kind's ``check`` and ``read`` get. It answers parsed JSON, or raises
``ConnectorError`` with a message an admin can act on:

- only the connection's own origin (scheme, host and port of its base URL) is reached: a
  next-page link that points anywhere else stops the run. Private and loopback addresses
  only where ``CDP_OUTBOUND_ALLOWED_NETWORKS`` allows them (integrations/outbound.py);
- 429 (with ``Retry-After``, seconds or an HTTP date) and the connection's own request
  budget (requests a minute, counted in Redis) raise ``RateLimited``: the run waits;
- 401 and 403 say the credentials or their permissions are wrong; 5xx and timeouts are
  retryable; an answer that is not JSON, or larger than ``CDP_CONNECTOR_MAX_PAGE_BYTES``,
  is an error; each request has ``CDP_CONNECTOR_TIMEOUT_SECONDS`` to finish.
"""

from __future__ import annotations

import json as jsonlib
import logging
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urljoin, urlsplit

from django.conf import settings

from cdp_site.redis_client import client as redis_client
from integrations import outbound

from .base import ConnectorError, RateLimited

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 30.0
MAX_RETRY_AFTER = 3600.0


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float:
    """``Retry-After`` as seconds to wait (a number or an HTTP date), bounded."""
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (now or time.time())
        except (TypeError, ValueError, IndexError, OverflowError):
            return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class Reader:
    def __init__(
        self,
        *,
        connection_id: int | None,
        base_url: str,
        config: dict,
        secrets: dict,
        budget: int = 0,
        on_secrets=None,
    ):
        self.connection_id = connection_id
        self.base_url = base_url.rstrip("/") + "/"
        self.config = config
        self.secrets = secrets
        self.budget = budget
        self.requests = 0
        self.on_secrets = on_secrets  # (changed secrets) -> None: stores them encrypted

    # --- what kinds call ------------------------------------------------------------

    def get(self, path: str, *, params: dict | None = None, headers: dict | None = None):
        return self.parse(self.send("GET", path, params=params, headers=headers))

    def post(self, path: str, *, json: object, headers: dict | None = None):
        body = jsonlib.dumps(json).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        return self.parse(self.send("POST", path, body=body, headers=sent))

    def calls_to_spare(self, most: int) -> int:
        """How many follow-up requests one read may send, at most ``most``: no more than a
        quarter of the connection's budget a minute (at least one), so that a slice stays
        well inside it and a slice retried after a limit does not spend it all again."""
        return min(most, max(1, self.budget // 4)) if self.budget else most

    def save_secrets(self, changed: dict) -> None:
        """Keeps credentials the service issued during a read (a refreshed access token):
        at once for this reader, and stored encrypted on the connection."""
        self.secrets.update(changed)
        if self.on_secrets is not None:
            self.on_secrets(changed)

    def url(self, path: str, params: dict | None = None) -> str:
        """The absolute URL of ``path`` (relative to the base URL, or a full URL that must
        stay on the connection's origin)."""
        url = urljoin(self.base_url, path.lstrip("/")) if "://" not in path else path
        if _origin(url) != _origin(self.base_url):
            raise ConnectorError(
                f"The service pointed to {urlsplit(url).hostname or url!r}, which is not the "
                "connection's host; the run stops rather than send credentials elsewhere.",
                code="config",
            )
        if params:
            url += ("&" if urlsplit(url).query else "?") + urlencode(params, doseq=True)
        return url

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: bytes | None = None,
        headers: dict | None = None,
    ) -> outbound.Response:
        url = self.url(path, params)
        self._spend_budget()
        sent = {"Accept": "application/json", **(headers or {})}
        try:
            response = outbound.request(
                method,
                url,
                headers=sent,
                body=body,
                timeout=settings.CDP_CONNECTOR_TIMEOUT_SECONDS,
                max_bytes=settings.CDP_CONNECTOR_MAX_PAGE_BYTES,
            )
        except outbound.OutboundError as exc:
            raise ConnectorError(_unreached(exc), retryable=exc.retryable, code=_code(exc)) from exc
        finally:
            self.requests += 1
        try:
            self.raise_for_status(response)
        except ConnectorError as exc:
            exc.response = response  # the kind may read the service's own explanation
            raise
        return response

    @staticmethod
    def parse(response: outbound.Response):
        try:
            return jsonlib.loads(response.body)
        except (ValueError, RecursionError):
            raise ConnectorError(
                f"The service answered {response.url} with something that is not JSON."
            ) from None

    # --- rules --------------------------------------------------------------------------

    @staticmethod
    def raise_for_status(response: outbound.Response) -> None:
        status = response.status
        if 200 <= status < 300:
            return
        if status == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            raise RateLimited(
                f"The service asked to slow down (429); waiting {wait:.0f} s.", retry_after=wait
            )
        if status == 401:
            raise ConnectorError(
                "The service refused the credentials (401): the token is wrong, expired "
                "or revoked. Enter a new one.",
                code="auth",
                status=status,
            )
        if status == 403:
            raise ConnectorError(
                "The credentials work but lack a permission this stream needs (403): "
                "grant read access to it in the service.",
                code="permission",
                status=status,
            )
        logger.info("connector answer %s from %s: %r", status, response.url, response.body[:500])
        error = response.error()
        raise ConnectorError(str(error), retryable=error.retryable, status=status)

    def _spend_budget(self) -> None:
        if not self.budget or self.connection_id is None:
            return
        minute = int(time.time() // 60)
        key = f"cdp:connector:{self.connection_id}:requests:{minute}"
        try:
            pipe = redis_client().pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            used = pipe.execute()[0]
        except Exception:  # Redis down: the service's own 429s still hold us back
            logger.warning("request budget of connection %s not counted", self.connection_id)
            return
        if used > self.budget:
            wait = 60 - time.time() % 60
            raise RateLimited(
                f"This connection's budget of {self.budget} requests a minute is spent; "
                f"waiting {wait:.0f} s.",
                retry_after=wait,
            )


def _code(exc: outbound.OutboundError) -> str:
    text = exc.message.lower()
    if "certificate" in text or "tls" in text or "ssl" in text:
        return "tls"
    return "unreachable" if exc.retryable or "not allowed" in text else "answer"


def _unreached(exc: outbound.OutboundError) -> str:
    return f"The service could not be reached: {exc.message}."
