"""The journey view broken down by who people are and where they came from: moves into
each stage during the period, per country, per value of any trait, in and out of a
segment, per source (and its party) of the event that caused the move, or per the
person's first-touch channel (profiles.attribution). Unlike the
charts above it, this reads the period's moves joined to the profiles (not a rollup), so
it runs under the same time limit and keeps the largest groups, the rest as "other"."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from django import forms
from django.db import connection

from cdp_site.counting import time_limit
from insights.periods import Period, PeriodForm
from segments.models import Segment

from .selectors import STAGES, TIME_LIMIT_MS

TOP = 8
TOUCH_FIELDS = ("source", "medium", "campaign")
OTHER, UNKNOWN = "other", "unknown"
TRAIT_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")

# The largest groups by moves, the rest summed as one (NULL): a trait with a million
# values still answers nine rows per stage.
MOVES = """
WITH moves AS (
    SELECT coalesce({group}, '') AS grp, sc.to_stage AS stage, count(*) AS n
    FROM profiles_stagechange sc
    JOIN profiles_profile p ON p.id = sc.profile_id AND p.merged_into_id IS NULL
    WHERE sc.changed_at >= %(start)s AND sc.changed_at < %(end)s
    GROUP BY 1, 2
), top AS (
    SELECT grp FROM moves GROUP BY grp ORDER BY sum(n) DESC, grp LIMIT %(top)s
)
SELECT CASE WHEN grp IN (SELECT grp FROM top) THEN grp END, stage, sum(n)
FROM moves GROUP BY 1, 2
"""
# The source of the event that caused a move: the replayed history names the event; a
# live move does not (profiles.stages), and happened at the time of the event that made
# its rule match, so the profile's event at that instant stands in. A lapse has none.
CAUSE_SOURCE = (
    "coalesce((SELECT e.source_id FROM profiles_profileevent e WHERE e.event_id = sc.event_id), "
    "(SELECT e.source_id FROM profiles_profileevent e WHERE e.profile_id = sc.profile_id "
    'AND e."timestamp" = sc.changed_at ORDER BY e.event_id DESC LIMIT 1))'
)
# The grouping expressions: constants; the trait key and the segment are parameters.
_SOURCE = "(SELECT s.{column} FROM integrations_source s WHERE s.id = " + CAUSE_SOURCE + ")"  # noqa: S608
GROUPS = {
    "source": _SOURCE.format(column="name"),
    "party": _SOURCE.format(column="party || '-party'"),
    "first_touch": "p.computed ->> %(touch_key)s",
    "country": "upper(btrim(p.traits ->> 'country'))",
    "trait": "p.traits ->> %(key)s",
    "segment": "CASE WHEN EXISTS (SELECT 1 FROM segments_membership m "
    "WHERE m.segment_id = %(segment)s AND m.profile_id = p.id) THEN 'in' ELSE 'not in' END",
}


class JourneyForm(PeriodForm):
    by = forms.ChoiceField(
        choices=[
            ("", "nothing"),
            ("country", "country"),
            ("trait", "a trait"),
            ("segment", "a segment"),
            ("source", "source of the move"),
            ("party", "party of that source"),
            ("first_touch", "first-touch channel"),
        ],
        required=False,
        label="Break down by",
    )
    trait = forms.CharField(required=False, max_length=100, label="Trait")
    segment = forms.ModelChoiceField(Segment.objects.all(), required=False, label="Segment")
    touch = forms.ChoiceField(
        choices=[(f, f) for f in TOUCH_FIELDS], required=False, label="First-touch channel by"
    )

    def clean(self):
        data = super().clean()
        if data.get("by") == "trait" and not TRAIT_KEY.match(data.get("trait") or ""):
            self.add_error("trait", "Name a trait: letters, digits, _ . or -.")
        if data.get("by") == "segment" and not data.get("segment"):
            self.add_error("segment", "Choose a segment.")
        return data

    def dimension(self) -> Dimension | None:
        data = self.cleaned_data
        if not data.get("by"):
            return None
        segment = data.get("segment")
        return Dimension(
            data["by"],
            data.get("trait") or "",
            segment.pk if segment else None,
            data.get("touch") or TOUCH_FIELDS[0],
        )


@dataclass(frozen=True)
class Dimension:
    by: str
    trait: str = ""
    segment_id: int | None = None
    touch: str = TOUCH_FIELDS[0]  # with first_touch: source, medium or campaign

    def label(self) -> str:
        return {
            "country": "country",
            "trait": f"trait {self.trait}",
            "segment": "segment",
            "source": "source",
            "party": "party",
            "first_touch": f"first-touch {self.touch}",
        }[self.by]


@dataclass(frozen=True)
class Breakdown:
    dimension: Dimension
    groups: list[str]  # largest first, then "other"
    moves: dict[str, dict[str, int]]  # group -> stage -> moves into it in the period


def breakdown(period: Period, dimension: Dimension) -> Breakdown:
    params = {
        "start": period.start,
        "end": period.end,
        "key": dimension.trait,
        "segment": dimension.segment_id,
        "touch_key": f"first_touch_{dimension.touch}",
        "top": TOP,
    }
    sql = MOVES.format(group=GROUPS[dimension.by])  # a constant of GROUPS, never input
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    totals, moves = Counter(), defaultdict(Counter)
    for group, stage, n in found:
        name = OTHER if group is None else (group[:80] or UNKNOWN)
        totals[name] += n
        moves[name][stage] += n
    groups = sorted(totals, key=lambda name: (name == OTHER, -totals[name], name))
    return Breakdown(dimension, groups, {g: {s: moves[g][s] for s in STAGES} for g in groups})
