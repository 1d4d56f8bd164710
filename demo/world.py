"""The simulated company's customers, streamed one person at a time.

Memory stays flat whatever N is: a person's story is built, handed out and dropped
before the next one starts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

from .journey import Story
from .shapes import WINDOW, Item

FILE_CHANNELS = ("partner", "provider")
# Beyond this the progress total is extrapolated from a sample: an exact count would
# generate everything twice and delay the first event by seconds (minutes at 1M).
EXACT_COUNT_UP_TO = 1_000
SAMPLE = 500


def default_end() -> datetime:
    # Midnight, not "now": a run later the same day (or any day) replays the same story,
    # and the store opening hours stay on the clock.
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class World:
    def __init__(self, *, seed: int = 42, customers: int = 5_000, end: datetime | None = None):
        self.seed, self.customers = seed, customers
        self.end = end or default_end()
        self.start = self.end - WINDOW

    def person(self, index: int) -> list[Item]:
        return Story(seed=self.seed, index=index, start=self.start).tell()

    def items(self) -> Iterator[Item]:
        for index in range(self.customers):
            yield from self.person(index)

    def count(self) -> tuple[Counter, bool]:
        """Items per channel, and whether that is exact or extrapolated from a sample."""
        if self.customers <= EXACT_COUNT_UP_TO:
            return Counter(item.channel for item in self.items()), True
        step = self.customers // SAMPLE
        sample = Counter(
            item.channel for index in range(0, self.customers, step) for item in self.person(index)
        )
        factor = self.customers / len(range(0, self.customers, step))
        return Counter({channel: round(n * factor) for channel, n in sample.items()}), False
