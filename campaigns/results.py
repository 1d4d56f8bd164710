"""A campaign's results: who entered, how people moved through the steps, what was
sent and what came of it, per variant, and the lift against the holdout.

Conversions are facts read from the events: a goal event (``campaign.goal_event``) by
the same person within ``conversion_window_days``

* after a delivery's ``sent_at`` marks ``Delivery.converted_at`` (message attribution);
* after an enrollment's ``entered_at`` marks ``Enrollment.converted_at`` (the lift: it is
  measured the same way for the treated and for the holdout, who get no message).

Both markers only fill empty ``converted_at`` values with the first goal event in the
window, so running them again changes nothing. Results read plain data only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date

from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from .models import Campaign, Delivery, Enrollment, StepLog
from .revenue import email_revenue

Z95 = 1.959963984540054
MIN_PER_CELL = 5  # normal approximation: n·p and n·(1−p) at least this in each group


def _mark_converted(table: str, since: str) -> str:
    """SQL that fills the empty ``converted_at`` of a campaign's rows of ``table`` with
    the first goal event of the person (or of the profile they were merged into) within
    the window after the row's ``since`` time."""
    return f"""
UPDATE {table} t SET converted_at = c.at
FROM (
    SELECT t2.id, min(e.timestamp) AS at
    FROM {table} t2
    LEFT JOIN profiles_profile p ON p.id = t2.profile_id
    JOIN profiles_profileevent e
      ON e.profile_id = coalesce(p.merged_into_id, t2.profile_id)
     AND e.name = %(goal)s
     AND e.timestamp >= t2.{since}
     AND e.timestamp <= t2.{since} + make_interval(days => %(days)s)
    WHERE t2.campaign_id = %(campaign)s AND t2.{since} IS NOT NULL
      AND t2.converted_at IS NULL
    GROUP BY t2.id
) c
WHERE t.id = c.id AND t.converted_at IS NULL
"""  # noqa: S608 (two names of this module's own)


MARK_DELIVERIES = _mark_converted("campaigns_delivery", "sent_at")
MARK_ENROLLMENTS = _mark_converted("campaigns_enrollment", "entered_at")


@dataclass(frozen=True)
class Marked:
    deliveries: int
    enrollments: int


@transaction.atomic
def mark_conversions(campaign: Campaign) -> Marked:
    """Marks conversions from the goal events; idempotent. Nothing without a goal."""
    if not campaign.goal_event:
        return Marked(0, 0)
    params = {
        "goal": campaign.goal_event,
        "days": int(campaign.conversion_window_days),
        "campaign": campaign.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(MARK_DELIVERIES, params)
        deliveries = cursor.rowcount
        cursor.execute(MARK_ENROLLMENTS, params)
        enrollments = cursor.rowcount
    return Marked(deliveries, enrollments)


@dataclass(frozen=True)
class Lift:
    """Conversion rate of the treated against the holdout: the absolute difference with
    a 95% confidence interval (two-proportion normal approximation, unpooled)."""

    treated_n: int
    treated_conversions: int
    holdout_n: int
    holdout_conversions: int
    treated_rate: float | None
    holdout_rate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    relative: float | None  # difference / holdout rate
    enough: bool
    significant: bool
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


def lift(
    *, treated_n: int, treated_conversions: int, holdout_n: int, holdout_conversions: int
) -> Lift:
    p1 = treated_conversions / treated_n if treated_n else None
    p2 = holdout_conversions / holdout_n if holdout_n else None
    difference = p1 - p2 if p1 is not None and p2 is not None else None
    relative = difference / p2 if difference is not None and p2 else None
    base = dict(
        treated_n=treated_n,
        treated_conversions=treated_conversions,
        holdout_n=holdout_n,
        holdout_conversions=holdout_conversions,
        treated_rate=p1,
        holdout_rate=p2,
        difference=difference,
        relative=relative,
    )
    if not holdout_n:
        note = "No holdout: add a holdout variant to a split to measure lift."
        return Lift(**base, ci_low=None, ci_high=None, enough=False, significant=False, note=note)
    cells = (
        treated_conversions,
        treated_n - treated_conversions,
        holdout_conversions,
        holdout_n - holdout_conversions,
    )
    if not treated_n or min(cells) < MIN_PER_CELL:
        return Lift(
            **base,
            ci_low=None,
            ci_high=None,
            enough=False,
            significant=False,
            note=f"Not enough data: each group needs at least {MIN_PER_CELL} "
            "conversions and non-conversions.",
        )
    se = math.sqrt(p1 * (1 - p1) / treated_n + p2 * (1 - p2) / holdout_n)
    low, high = difference - Z95 * se, difference + Z95 * se
    significant = low > 0 or high < 0
    if significant:
        note = "The difference is unlikely to be chance (95% confidence)."
    else:
        note = "The interval includes zero: no difference shown yet."
    return Lift(**base, ci_low=low, ci_high=high, enough=True, significant=significant, note=note)


def _variant_key(variant: str, holdout: bool) -> str:
    return variant or ("holdout" if holdout else "")


def _label(variant: str) -> str:
    return variant or "All"


def step_counts(campaign: Campaign) -> list[dict]:
    """Per step, in the journey's order: people who reached it, passed it, are waiting
    at it now and exited at it, with every logged outcome."""
    logged: dict[str, dict[str, int]] = {}
    for row in (
        StepLog.objects.filter(campaign=campaign)
        .values("step_id", "outcome")
        .annotate(n=Count("enrollment_id", distinct=True))
    ):
        logged.setdefault(row["step_id"], {})[row["outcome"]] = row["n"]
    reached = dict(
        StepLog.objects.filter(campaign=campaign)
        .values("step_id")
        .annotate(n=Count("enrollment_id", distinct=True))
        .values_list("step_id", "n")
    )
    passed = dict(
        StepLog.objects.filter(campaign=campaign)
        .exclude(outcome__in=["waiting", "exited", "failed", "skipped"])
        .values("step_id")
        .annotate(n=Count("enrollment_id", distinct=True))
        .values_list("step_id", "n")
    )
    now: dict[str, dict[str, int]] = {}
    for row in (
        Enrollment.objects.filter(campaign=campaign)
        .values("step_id", "state")
        .annotate(n=Count("id"))
    ):
        now.setdefault(row["step_id"], {})[row["state"]] = row["n"]
    waiting_states = (Enrollment.State.ACTIVE, Enrollment.State.WAITING_EVENT)
    exited_states = (Enrollment.State.EXITED, Enrollment.State.FAILED)

    order = [s.get("id") for s in (campaign.steps or []) if isinstance(s, dict) and s.get("id")]
    types = {s.get("id"): s for s in (campaign.steps or []) if isinstance(s, dict)}
    extra = sorted((set(logged) | {k for k in now if k}) - set(order))
    result = []
    for step_id in order + extra:
        step = types.get(step_id, {})
        states = now.get(step_id, {})
        result.append(
            {
                "id": step_id,
                "type": step.get("type", ""),
                "label": step.get("label") or step_id,
                "reached": reached.get(step_id, 0),
                "passed": passed.get(step_id, 0),
                "waiting": sum(states.get(s, 0) for s in waiting_states),
                "exited": sum(states.get(s, 0) for s in exited_states),
                "outcomes": dict(sorted(logged.get(step_id, {}).items())),
            }
        )
    return result


DELIVERY_COUNTS = dict(
    total=Count("id"),
    pending=Count("id", filter=Q(status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING])),
    sent=Count("id", filter=Q(sent_at__isnull=False)),
    failed=Count("id", filter=Q(status=Delivery.Status.FAILED)),
    skipped=Count("id", filter=Q(status=Delivery.Status.SKIPPED)),
    opened=Count("id", filter=Q(opened_at__isnull=False)),
    clicked=Count("id", filter=Q(clicked_at__isnull=False)),
    converted=Count("id", filter=Q(converted_at__isnull=False)),
)


def _reasons(campaign: Campaign, status: str) -> list[dict]:
    return [
        {"reason": row["reason"] or "(no reason given)", "count": row["n"]}
        for row in Delivery.objects.filter(campaign=campaign, status=status)
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n", "reason")[:20]
    ]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def variant_rows(campaign: Campaign) -> list[dict]:
    """Per variant (the holdout apart): entered, converted people and the messages'
    funnel. Campaigns without a split have one row, ``All``."""
    rows: dict[str, dict] = {}
    for row in (
        Enrollment.objects.filter(campaign=campaign)
        .values("variant", "holdout")
        .annotate(
            entered=Count("id"), converted_people=Count("id", filter=Q(converted_at__isnull=False))
        )
    ):
        key = _variant_key(row["variant"], row["holdout"])
        entry = rows.setdefault(key, {"variant": key, "holdout": row["holdout"]})
        entry["entered"] = entry.get("entered", 0) + row["entered"]
        entry["converted_people"] = entry.get("converted_people", 0) + row["converted_people"]
    for row in (
        Delivery.objects.filter(campaign=campaign).values("variant").annotate(**DELIVERY_COUNTS)
    ):
        key = row.pop("variant") or ""
        rows.setdefault(key, {"variant": key, "holdout": False}).update(row)
    result = []
    for key, entry in sorted(rows.items(), key=lambda kv: (kv[1]["holdout"], kv[0])):
        for name in ("entered", "converted_people", *DELIVERY_COUNTS):
            entry.setdefault(name, 0)
        entry["label"] = _label(key)
        entry["conversion_rate"] = _rate(entry["converted_people"], entry["entered"])
        entry["open_rate"] = _rate(entry["opened"], entry["sent"])
        entry["click_rate"] = _rate(entry["clicked"], entry["sent"])
        result.append(entry)
    return result


def holdout_lift(campaign: Campaign) -> Lift:
    counts = Enrollment.objects.filter(campaign=campaign).aggregate(
        treated_n=Count("id", filter=Q(holdout=False)),
        treated_conversions=Count("id", filter=Q(holdout=False, converted_at__isnull=False)),
        holdout_n=Count("id", filter=Q(holdout=True)),
        holdout_conversions=Count("id", filter=Q(holdout=True, converted_at__isnull=False)),
    )
    return lift(**counts)


def conversions_over_time(campaign: Campaign) -> list[dict]:
    """Converted people per day of their conversion, treated and holdout apart."""
    days: dict[date, dict] = {}
    for row in (
        Enrollment.objects.filter(campaign=campaign, converted_at__isnull=False)
        .annotate(day=TruncDate("converted_at"))
        .values("day", "holdout")
        .annotate(n=Count("id"))
        .order_by("day")
    ):
        entry = days.setdefault(row["day"], {"day": row["day"], "treated": 0, "holdout": 0})
        entry["holdout" if row["holdout"] else "treated"] += row["n"]
    return [days[d] for d in sorted(days)]


def campaign_results(campaign: Campaign, *, mark: bool = True) -> dict:
    """Everything the results page shows, as plain data. ``mark`` first marks the
    conversions that arrived since the last look."""
    if mark:
        mark_conversions(campaign)
    enrollments = Enrollment.objects.filter(campaign=campaign)
    states = dict(enrollments.values("state").annotate(n=Count("id")).values_list("state", "n"))
    deliveries = Delivery.objects.filter(campaign=campaign).aggregate(**DELIVERY_COUNTS)
    return {
        "campaign_id": campaign.pk,
        "goal_event": campaign.goal_event,
        "window_days": campaign.conversion_window_days,
        "entered": sum(states.values()),
        "states": states,
        "converted_people": enrollments.filter(converted_at__isnull=False).count(),
        "steps": step_counts(campaign),
        "deliveries": deliveries,
        "skip_reasons": _reasons(campaign, Delivery.Status.SKIPPED),
        "failure_reasons": _reasons(campaign, Delivery.Status.FAILED),
        "variants": variant_rows(campaign),
        "lift": holdout_lift(campaign),
        "over_time": conversions_over_time(campaign),
        "email_revenue": email_revenue(campaign),
    }


FUNNEL = [
    ("entered", "Entered"),
    ("sent", "Sent"),
    ("opened", "Opened"),
    ("clicked", "Clicked"),
    ("converted_people", "Converted"),
]


def charts(results: dict) -> dict:
    """Plotly specs (data + layout) for static/js/charts.js: the funnel per variant and
    conversions over time."""
    funnel = {
        "data": [
            {
                "type": "funnel",
                "name": row["label"],
                "y": [label for _, label in FUNNEL],
                "x": [row.get(key, 0) for key, _ in FUNNEL],
                "textinfo": "value+percent initial",
            }
            for row in results["variants"]
        ],
        "layout": {"margin": {"l": 90, "r": 20, "t": 10, "b": 30}, "height": 320},
    }
    days = [str(p["day"]) for p in results["over_time"]]
    over_time = {
        "data": [
            {
                "type": "bar",
                "name": "Treated",
                "x": days,
                "y": [p["treated"] for p in results["over_time"]],
            },
            {
                "type": "bar",
                "name": "Holdout",
                "x": days,
                "y": [p["holdout"] for p in results["over_time"]],
            },
        ],
        "layout": {
            "barmode": "group",
            "margin": {"l": 40, "r": 20, "t": 10, "b": 40},
            "height": 280,
            "yaxis": {"title": {"text": "People converted"}, "rangemode": "tozero"},
        },
    }
    return {"funnel": funnel, "over_time": over_time}
