"""Posting messages to /v1/batch like an SDK would: batched, a few connections, retries.

The queue between the simulation and the connections is bounded, so a million
customers never pile up in memory when the server is the slower side.
"""

from __future__ import annotations

import base64
import http.client
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from integrations.collect.verification import claims, sign

BATCH_MESSAGES = 250
# The official clients stay under 475,000 bytes so that the 500 KB limit is never hit.
BATCH_BYTES = 450_000
ATTEMPTS = 8
RETRY_STATUSES = {408, 410, 429, 460} | {s for s in range(500, 600) if s not in (501, 505)}
USER_AGENT = "trailhead-demo/1.0"


class SendError(Exception):
    """The server refused a batch for good (or kept failing); the demo load stops."""


@dataclass(frozen=True, slots=True)
class Job:
    write_key: str
    body: bytes
    count: int


class Sender:
    """A pool of keep-alive connections draining a bounded queue of batches."""

    def __init__(
        self, *, url: str, connections: int = 4, on_sent: Callable[[int], None] | None = None
    ):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.path = parts.path.rstrip("/") + "/v1/batch"
        self.on_sent = on_sent or (lambda n: None)
        self.jobs: queue.Queue[Job | None] = queue.Queue(maxsize=connections * 4)
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._work, name=f"demo-send-{i}", daemon=True)
            for i in range(connections)
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, *, write_key: str, messages: list[bytes]) -> None:
        if self.error:
            raise SendError(str(self.error)) from self.error
        body = b'{"batch":[' + b",".join(messages) + b"]}"
        self.jobs.put(Job(write_key, body, len(messages)))

    def close(self) -> None:
        """Waits for every queued batch; raises if one could not be delivered."""
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()
        if self.error:
            raise SendError(str(self.error)) from self.error

    def _connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=120)
        return http.client.HTTPConnection(self.host, self.port, timeout=120)

    def _work(self) -> None:
        connection = None
        while (job := self.jobs.get()) is not None:
            if self.error:
                continue  # drain: the producer stops at its next submit
            try:
                connection = self._post(job, connection)
                self.on_sent(job.count)
            except BaseException as exc:  # handed to the producer thread
                with self.lock:
                    self.error = self.error or exc
        if connection:
            connection.close()

    def _post(self, job: Job, connection):
        auth = base64.b64encode(f"{job.write_key}:".encode()).decode()
        headers = {
            "Authorization": f"Basic {auth}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        problem = ""
        for attempt in range(ATTEMPTS):
            wait = min(0.25 * 2**attempt, 15.0)
            try:
                connection = connection or self._connect()
                connection.request("POST", self.path, body=job.body, headers=headers)
                response = connection.getresponse()
                text = response.read()
            except (OSError, http.client.HTTPException) as exc:
                # A dropped keep-alive connection or a restarting server: reconnect and retry.
                if connection:
                    connection.close()
                connection, problem = None, f"{type(exc).__name__}: {exc}"
                time.sleep(wait)
                continue
            if response.status == 200:
                return connection
            problem = f"HTTP {response.status}: {text[:300].decode(errors='replace')}"
            if response.status not in RETRY_STATUSES:
                raise SendError(problem)
            retry_after = response.getheader("Retry-After")
            if retry_after and retry_after.isdigit():
                wait = min(float(retry_after), 300.0)
            time.sleep(wait)
        raise SendError(f"gave up after {ATTEMPTS} attempts; last: {problem}")


class Batcher:
    """Collects messages per source and hands full batches to the sender.

    ``signing_secrets``: per client channel (the webshop, the app), the identity
    verification secret its backend signs the signed-in customer's calls with, as a real
    site renders the signature into its pages (collect/verification.py)."""

    def __init__(
        self,
        *,
        sender: Sender,
        write_keys: dict[str, str],
        signing_secrets: dict[str, str] | None = None,
    ):
        self.sender, self.write_keys = sender, write_keys
        self.signing_secrets = signing_secrets or {}
        self.pending: dict[str, list[bytes]] = {key: [] for key in write_keys}
        self.sizes = dict.fromkeys(write_keys, 0)

    def add(self, channel: str, message: dict) -> None:
        secret = self.signing_secrets.get(channel)
        if secret and claims(message):
            message = sign(message, secret)
        encoded = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        if self.sizes[channel] + len(encoded) > BATCH_BYTES:
            self.flush(channel)
        self.pending[channel].append(encoded)
        self.sizes[channel] += len(encoded) + 1
        if len(self.pending[channel]) >= BATCH_MESSAGES:
            self.flush(channel)

    def flush(self, channel: str) -> None:
        if self.pending[channel]:
            self.sender.submit(write_key=self.write_keys[channel], messages=self.pending[channel])
        self.pending[channel], self.sizes[channel] = [], 0

    def flush_all(self) -> None:
        for channel in self.pending:
            self.flush(channel)
