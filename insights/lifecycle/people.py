"""The people behind a number of the lifecycle bars: who was new, returning,
resurrecting or dormant in one bucket. The statement classifies the same (profile,
bucket) pairs as the count (insights/lifecycle/selectors.py, the same text), so the list
is the number's people; listing, saving and the API are the shared ones (insights.people)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.utils import timezone

from insights.periods import Period

from .forms import LifecycleForm
from .selectors import ANY_EVENT, GOES_DORMANT, KIND, KINDS, ONE_EVENT, PAIRS, midnight, parameters

ACTIVE = f"""{PAIRS}
SELECT m.profile_id FROM marked m {{join}} WHERE m.b = %(b)s AND {KIND} = %(kind)s
"""  # noqa: S608 (constants only)
DORMANT = f"""{PAIRS}
SELECT profile_id FROM marked WHERE {GOES_DORMANT} AND b + 1 = %(b)s
"""  # noqa: S608 (constants only)
NOBODY = "SELECT NULL::bigint AS profile_id WHERE false"
LABELS = {
    "new": "New",
    "returning": "Returning",
    "resurrecting": "Resurrecting",
    "dormant": "Went dormant",
}


class LifecyclePeopleForm(LifecycleForm):
    """Which number: its ``kind`` and its ``bucket`` (the bucket's first local day)."""

    kind = forms.ChoiceField(choices=[(k, k) for k in KINDS])
    bucket = forms.DateField()

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("bucket") not in self.period().buckets():
            self.add_error("bucket", "Choose one of the period's buckets.")
        return data

    def people_question(self) -> Question:
        data = self.cleaned_data
        return Question(self.period(), data["kind"], data["bucket"], self.question()["event"])


@dataclass(frozen=True)
class Question:
    period: Period
    kind: str
    bucket: date
    event: str = ""

    def describe(self) -> str:
        last = self.period.buckets()
        i = last.index(self.bucket)
        end = last[i + 1] - timedelta(days=1) if i + 1 < len(last) else self.period.last_day
        doing = f" (doing “{self.event}”)" if self.event else ""
        span = f"{self.bucket:%Y-%m-%d} – {end:%Y-%m-%d}"
        return f"{LABELS[self.kind]}{doing}, {self.period.granularity} of {span}"

    def sql(self) -> tuple[str, dict]:
        if midnight(self.bucket, self.period) > timezone.now():
            return NOBODY, {}  # a bucket yet to come counts no one (as the bars do)
        params = parameters(self.period, event=self.event)
        # Bucket index 2 is the period's first (1 is the one before it).
        params.update(b=self.period.buckets().index(self.bucket) + 2, kind=self.kind)
        which = ONE_EVENT if self.event else ANY_EVENT
        statement = DORMANT if self.kind == "dormant" else ACTIVE
        return statement.format(**which), params
