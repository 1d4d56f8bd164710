"""Loads the demo company: sources, then every message through the real collection paths.

Website, app, CRM, tills, ERP and e-mail platform post to /v1/batch over HTTP with
their sources' write keys; the partner and data-provider files go through the file
import. Nothing is written to the events table directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from integrations import services

from .files import FileWriters, ImportOutcome, import_demo_file
from .send import Batcher, Sender
from .sources import BY_KEY, ensure_demo_sources, stored_events
from .world import FILE_CHANNELS, World


def signing_secrets(sources: dict, channels: list[str]) -> dict[str, str]:
    """The client channels' verification secrets: the demo's webshop and app sign the
    signed-in customer's calls, as their backends would."""
    return {
        key: services.verification_secret(source=sources[key])
        for key in channels
        if sources[key].is_client
    }


class Progress:
    """Messages acknowledged by the server so far, updated from the sender's threads."""

    def __init__(self, *, total: int, exact: bool):
        self.total, self.exact = total, exact
        self.sent = 0
        self.phase = "sending"
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self.sent += count


@dataclass
class Summary:
    customers: int
    seed: int
    seconds: float = 0.0
    sent: dict[str, int] = field(default_factory=dict)  # messages posted per channel
    files: dict[str, ImportOutcome] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)  # events stored per channel
    after: dict[str, int] = field(default_factory=dict)

    @property
    def new_events(self) -> int:
        return sum(self.after.values()) - sum(self.before.values())


def load_demo_data(
    *,
    url: str,
    customers: int = 5_000,
    seed: int = 42,
    connections: int = 4,
    end: datetime | None = None,
    on_start: Callable[[Progress], None] | None = None,
) -> Summary:
    """Sends the simulated company's data to the server at ``url``; safe to run again.

    ``on_start`` receives the live ``Progress`` before the first batch goes out.
    """
    started = time.monotonic()
    sources = ensure_demo_sources()
    summary = Summary(customers=customers, seed=seed, before=stored_events(sources=sources))
    world = World(seed=seed, customers=customers, end=end)
    counts, exact = world.count()
    http_channels = [key for key in sources if not BY_KEY[key].via_file]
    progress = Progress(total=sum(counts[c] for c in http_channels), exact=exact)
    if on_start:
        on_start(progress)
    sender = Sender(url=url, connections=connections, on_sent=progress.add)
    batcher = Batcher(
        sender=sender,
        write_keys={key: sources[key].write_key for key in http_channels},
        signing_secrets=signing_secrets(sources, http_channels),
    )
    writers = FileWriters(seed=seed, customers=customers)
    sent = dict.fromkeys(http_channels, 0)
    try:
        for item in world.items():
            if item.channel in FILE_CHANNELS:
                writers.write(item.channel, item.data)
            else:
                batcher.add(item.channel, item.data)
                sent[item.channel] += 1
        batcher.flush_all()
    finally:
        writers.close()
        sender.close()  # waits for the queued batches; raises if one failed for good
    summary.sent = sent
    progress.total, progress.exact = sum(sent.values()), True
    progress.phase = "importing files"
    for channel in FILE_CHANNELS:
        summary.files[channel] = import_demo_file(
            channel=channel, source=sources[channel], path=writers.paths[channel]
        )
    progress.phase = "done"
    summary.after = stored_events(sources=sources)
    summary.seconds = time.monotonic() - started
    return summary
