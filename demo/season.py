"""When people shop: a weekly rhythm (weekends busiest) and a year-end peak (the run-up
to Christmas, Black Friday above all), as a weight per calendar day. Stories draw the
days their visits and purchases fall on from these weights."""

from __future__ import annotations

import functools
import random
from datetime import date, datetime, timedelta

WEEKDAY = (0.9, 0.9, 0.95, 1.0, 1.1, 1.4, 1.3)  # Monday .. Sunday
MONTH = (0.75, 0.8, 0.9, 0.95, 1.0, 1.05, 1.0, 0.95, 0.95, 1.0, 1.3, 1.9)  # January ..
BLACK_FRIDAY_TO_CYBER_MONDAY = 1.8
AFTER_CHRISTMAS_EVE = 0.6  # the shelves are empty and parcels would come too late
SPAN_DAYS = 500  # the table's length: a story's lead, the window and its last steps


def _black_friday(year: int) -> date:
    november = date(year, 11, 1)
    thursdays = (3 - november.weekday()) % 7  # days to the first Thursday
    return november + timedelta(days=thursdays + 21 + 1)


def weight(day: date) -> float:
    found = WEEKDAY[day.weekday()] * MONTH[day.month - 1]
    friday = _black_friday(day.year)
    if friday <= day <= friday + timedelta(days=3):
        found *= BLACK_FRIDAY_TO_CYBER_MONDAY
    if day.month == 12 and day.day >= 24:
        found *= AFTER_CHRISTMAS_EVE
    return found


def buying_mood(at: datetime) -> float:
    """How much likelier a basket ends in an order than usual: the year-end's gift rush."""
    return 1.25 if at.month == 11 or (at.month == 12 and at.day < 24) else 1.0


@functools.lru_cache(maxsize=16)
def _weights(start: date) -> tuple[float, ...]:
    return tuple(weight(start + timedelta(days=i)) for i in range(SPAN_DAYS))


def moment(rng: random.Random, start: datetime, first: float, last: float) -> datetime:
    """A time between ``first`` and ``last`` days after midnight of ``start``'s day, the day
    drawn by its weight, the hour by day (8:00 to 23:00 UTC)."""
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    low = min(int(first), SPAN_DAYS - 1)
    high = min(max(int(last), low + 1), SPAN_DAYS)
    table = _weights(midnight.date())
    day = rng.choices(range(low, high), weights=table[low:high])[0]
    return midnight + timedelta(days=day, hours=rng.uniform(8, 23))
