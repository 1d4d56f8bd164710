"""Which retention rule applies to an event, and the time before which its events go.

Specificity: a rule for the event's source and name > one for its name (every source) >
one for its source (every name) > the default. Cutoffs are calendar months back from
``now`` (25 months before 7 March is 7 February, two years earlier).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from dateutil.relativedelta import relativedelta

from .. import models


def months_before(now: datetime, months: int) -> datetime:
    return now - relativedelta(months=months)


@dataclass
class Rules:
    default: int
    by_pair: dict[tuple[int, str], int] = field(default_factory=dict)
    by_name: dict[str, int] = field(default_factory=dict)
    by_source: dict[int, int] = field(default_factory=dict)

    def for_name(self, name: str) -> tuple[dict[int, int], int]:
        """The months of ``name``'s events: ({source id: months} where a source differs,
        months for every other source)."""
        other = self.by_name.get(name, self.default)
        special = {s: m for (s, n), m in self.by_pair.items() if n == name}
        if name not in self.by_name:
            special = {**{s: m for s, m in self.by_source.items()}, **special}
        return {s: m for s, m in special.items() if m != other}, other

    def every(self) -> list[int]:
        """The months of every rule and the default."""
        return [
            self.default,
            *self.by_name.values(),
            *self.by_source.values(),
            *self.by_pair.values(),
        ]

    def longest(self) -> int:
        return max(self.every())

    def base(self, sources: set[int]) -> int:
        """The longest a rule without an event name keeps events of ``sources`` (the
        default counts always: sources without a rule of their own may be there)."""
        return max([self.default, *(self.by_source.get(s, 0) for s in sources)])

    def keepers(self, expired: Callable[[int], bool]) -> tuple[list[str], list[tuple[int, str]]]:
        """The event names (every source) and (source, name) pairs whose rule keeps their
        events longer than ``expired`` says the rest may go: kept when the rest goes."""
        names = sorted(n for n, m in self.by_name.items() if not expired(m))
        pairs = sorted(p for p, m in self.by_pair.items() if not expired(m))
        return names, pairs

    def shortest(self) -> int:
        return min(self.every())


def settings_row() -> models.RetentionSettings:
    row, _ = models.RetentionSettings.objects.get_or_create(pk=1)
    return row


def load() -> Rules:
    rules = Rules(default=settings_row().default_months)
    for policy in models.RetentionPolicy.objects.all():
        if policy.source_id and policy.event_name:
            rules.by_pair[(policy.source_id, policy.event_name)] = policy.keep_months
        elif policy.event_name:
            rules.by_name[policy.event_name] = policy.keep_months
        else:
            rules.by_source[policy.source_id] = policy.keep_months
    return rules
