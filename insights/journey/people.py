"""The people behind a number of the journey view: who was in a stage at a bucket's end,
who moved from one stage to another during the period, who moved into a stage during a
bucket. Each is a query of profile ids (bounded by the caller), so the
list pages and "save as a segment" read the same people the number counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms

from insights import people as shared
from insights.periods import Period, PeriodForm

from .selectors import NEW, STAGES, TIME_LIMIT_MS, bucket_end

IN_STAGE = """
SELECT profile_id FROM (
    SELECT DISTINCT ON (sc.profile_id) sc.profile_id, sc.to_stage
    FROM profiles_stagechange sc
    JOIN profiles_profile p ON p.id = sc.profile_id AND p.merged_into_id IS NULL
    WHERE sc.changed_at < %(at)s ORDER BY sc.profile_id, sc.changed_at DESC, sc.id DESC
) latest WHERE to_stage = %(stage)s
"""
FLOW = """
SELECT DISTINCT sc.profile_id FROM profiles_stagechange sc
JOIN profiles_profile p ON p.id = sc.profile_id AND p.merged_into_id IS NULL
WHERE sc.from_stage = %(stage)s AND sc.to_stage = %(to_stage)s
  AND sc.changed_at >= %(start)s AND sc.changed_at < %(end)s
"""
ENTERED = """
SELECT DISTINCT sc.profile_id FROM profiles_stagechange sc
JOIN profiles_profile p ON p.id = sc.profile_id AND p.merged_into_id IS NULL
WHERE sc.to_stage = %(stage)s AND sc.changed_at >= %(from)s AND sc.changed_at < %(to)s
"""
STAGE_CHOICES = [(str(s), s.label) for s in STAGES]


class PeopleForm(PeriodForm):
    """Which number: ``kind`` in / flow / entered, its stage(s) and, for in and entered,
    its bucket (the first local day of it)."""

    kind = forms.ChoiceField(choices=[("in", "in"), ("flow", "flow"), ("entered", "entered")])
    stage = forms.ChoiceField(choices=[(NEW, "New"), *STAGE_CHOICES], required=False)
    to_stage = forms.ChoiceField(choices=STAGE_CHOICES, required=False)
    bucket = forms.DateField(required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        kind = data.get("kind")
        if kind == "flow" and not data.get("to_stage"):
            self.add_error("to_stage", "Choose the stage at the end.")
        if kind in ("in", "entered"):
            if not data.get("stage"):
                self.add_error("stage", "Choose a stage.")
            if data.get("bucket") not in self.period().buckets():
                self.add_error("bucket", "Choose one of the period's buckets.")
        return data

    def question(self) -> Question:
        data = self.cleaned_data
        return Question(
            self.period(), data["kind"], data["stage"], data["to_stage"], data["bucket"]
        )


@dataclass(frozen=True)
class Question:
    period: Period
    kind: str
    stage: str
    to_stage: str
    bucket: date | None

    def _bucket_bounds(self) -> tuple[datetime, datetime]:
        zone = self.period.zone
        first = datetime.combine(max(self.bucket, self.period.first_day), time.min, tzinfo=zone)
        last = bucket_end(self.bucket, self.period.granularity) + timedelta(days=1)
        return first, min(datetime.combine(last, time.min, tzinfo=zone), self.period.end)

    def describe(self) -> str:
        dates = f"{self.period.first_day:%Y-%m-%d} – {self.period.last_day:%Y-%m-%d}"
        if self.kind == "flow":
            if self.stage == NEW:
                return f"Arrived in {self.to_stage}, {dates}"
            return f"Moved from {self.stage} to {self.to_stage}, {dates}"
        first, end = self._bucket_bounds()
        span = f"{first:%Y-%m-%d} – {end - timedelta(seconds=1):%Y-%m-%d}"
        if self.kind == "entered":
            return f"Moved into {self.stage}, {span}"
        return f"In {self.stage} at the end of {span}"

    def sql(self) -> tuple[str, dict]:
        period = {"start": self.period.start, "end": self.period.end}
        if self.kind == "flow":
            return FLOW, {**period, "stage": self.stage, "to_stage": self.to_stage}
        first, end = self._bucket_bounds()
        if self.kind == "entered":
            return ENTERED, {"stage": self.stage, "from": first, "to": end}
        return IN_STAGE, {"stage": self.stage, "at": end}


# The shared pieces (insights.people), kept under these names for the journey's callers.
def profile_ids(question: Question, *, limit: int) -> list[int]:
    return shared.profile_ids(question, limit=limit)


def count(question: Question) -> int:
    return shared.count(question)


def listed(question: Question, *, limit: int) -> tuple[int, list[int]]:
    """How many people, and the first ``limit`` ids, together under the reports' time
    limit (cdp_site.counting.TimeLimitExceeded past it)."""
    return shared.listed(question, limit=limit, time_limit_ms=TIME_LIMIT_MS)


profiles = shared.profiles
