"""The period a report covers: two local dates and a granularity, checked once for the
page and the API alike (empty, inverted and too long ranges get a message, never a query
that runs for minutes). "Local" is the account's time zone (cdp_site's account settings,
set by an admin), not the site's TIME_ZONE: a day begins at midnight where the account is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from cdp_site.selectors import account_time_zone

GRANULARITIES = {"day": "Day", "week": "Week", "month": "Month"}
MAX_DAYS = 2 * 366  # two years: enough for year-on-year, small enough to stay fast
MAX_BUCKETS = 400  # points per series on a chart
DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date  # inclusive
    granularity: str
    zone: object  # a tzinfo: the day boundaries are this time zone's

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        """The instant after the last day (exclusive), or now if that is earlier."""
        after = datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=self.zone)
        return min(after, timezone.now())

    def today(self) -> date:
        return timezone.localdate(timezone=self.zone)

    def buckets(self) -> list[date]:
        """The first local day of each bucket, as ``date_trunc`` gives it."""
        first = bucket_of(self.first_day, self.granularity)
        found, day = [], first
        while day <= self.last_day:
            found.append(day)
            day = next_bucket(day, self.granularity)
        return found


def bucket_of(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def next_bucket(day: date, granularity: str) -> date:
    if granularity == "week":
        return day + timedelta(days=7)
    if granularity == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


class PeriodForm(forms.Form):
    start = forms.DateField(required=False, label="From")
    end = forms.DateField(required=False, label="To")
    granularity = forms.ChoiceField(
        choices=list(GRANULARITIES.items()), required=False, label="Per"
    )

    def clean(self):
        data = super().clean()
        self.zone = account_time_zone()  # read once: the period and "today" agree
        today = timezone.localdate(timezone=self.zone)
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        granularity = data.get("granularity") or "week"
        if start > end:
            self.add_error("end", "The end is before the start.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("end", f"A report covers at most {MAX_DAYS} days.")
        elif len(Period(start, end, granularity, None).buckets()) > MAX_BUCKETS:
            self.add_error("granularity", f"At most {MAX_BUCKETS} points: choose a coarser one.")
        data.update(start=start, end=end, granularity=granularity)
        return data

    def period(self) -> Period:
        data = self.cleaned_data
        return Period(data["start"], data["end"], data["granularity"], self.zone)
