"""Reads for the campaign pages: the list with its counts, the journey's counts per step
and its layout as a flow, a person's enrollments and deliveries, and journey entries in
the customer timeline."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import Count, Max, OuterRef, Q, Subquery

from cdp_site.counting import bounded_count
from profiles.selectors import Item, newest_after
from segments.realtime import referenced_in

from . import protection, step_types
from .journeys import grammar
from .models import ActivationSettings, Campaign, ChannelRules, Delivery, Enrollment, StepLog

WAITING = (Enrollment.State.ACTIVE, Enrollment.State.WAITING_EVENT)
GONE = (Enrollment.State.EXITED, Enrollment.State.FAILED)


def campaign_list():
    """Campaigns with entered / active / converted counts and their last activity."""
    last_step = StepLog.objects.filter(campaign=OuterRef("pk")).order_by("-at").values("at")[:1]
    campaigns = list(
        Campaign.objects.annotate(
            entered=Count("enrollments"),
            active=Count("enrollments", filter=Q(enrollments__state__in=WAITING)),
            converted=Count("enrollments", filter=Q(enrollments__converted_at__isnull=False)),
            last_entry=Max("enrollments__entered_at"),
            last_step=Subquery(last_step),
        ).order_by("name", "id")
    )
    for campaign in campaigns:
        times = [t for t in (campaign.last_entry, campaign.last_step) if t]
        campaign.last_activity = max(times) if times else None
    return campaigns


def totals(campaign: Campaign) -> dict:
    return Enrollment.objects.filter(campaign=campaign).aggregate(
        entered=Count("id"),
        active=Count("id", filter=Q(state__in=WAITING)),
        completed=Count("id", filter=Q(state=Enrollment.State.COMPLETED)),
        converted=Count("id", filter=Q(converted_at__isnull=False)),
        exited=Count("id", filter=Q(state__in=GONE)),
        holdout=Count("id", filter=Q(holdout=True)),
    )


def step_counts(campaign: Campaign) -> dict[str, dict]:
    """Per step id: ``waiting`` (enrollments at it now), ``passed`` (distinct enrollments
    that went through it), ``exited`` (left the journey there), ``converted`` (reached the
    goal while there) and ``outcomes`` (outcome -> enrollments, e.g. yes/no, variants)."""
    counts: dict[str, dict] = defaultdict(
        lambda: {"waiting": 0, "passed": 0, "exited": 0, "converted": 0, "outcomes": {}}
    )
    rows = (
        Enrollment.objects.filter(campaign=campaign)
        .values("step_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        here = counts[row["step_id"]]
        if row["state"] in WAITING:
            here["waiting"] += row["n"]
        elif row["state"] in GONE:
            here["exited"] += row["n"]
        elif row["state"] == Enrollment.State.CONVERTED:
            here["converted"] += row["n"]
    logs = (
        StepLog.objects.filter(campaign=campaign)
        .exclude(outcome="waiting")
        .values("step_id", "outcome")
        .annotate(n=Count("enrollment_id", distinct=True))
        .order_by()
    )
    for row in logs:
        here = counts[row["step_id"]]
        here["outcomes"][row["outcome"]] = row["n"]
    passed = (
        StepLog.objects.filter(campaign=campaign)
        .exclude(outcome="waiting")
        .values("step_id")
        .annotate(n=Count("enrollment_id", distinct=True))
        .order_by()
    )
    for row in passed:
        counts[row["step_id"]]["passed"] = row["n"]
    return dict(counts)


# The flow: boxes in rows, arrows between them ---------------------------------------------

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 210, 118, 40, 64, 16


def layout(steps: list[dict]) -> dict:
    """Boxes (x, y) and arrows (SVG paths with a label) for the journey, top to bottom:
    each step one row below the first step that leads to it (breadth first from the
    entry); steps nothing leads to go below."""

    ids = [s.get("id") for s in steps if isinstance(s, dict)]
    by_id = {s.get("id"): s for s in steps if isinstance(s, dict)}
    row: dict[str, int] = {}
    order: list[str] = []
    queue = [ids[0]] if ids else []
    if queue:
        row[ids[0]] = 0
    while queue or len(order) < len(ids):
        if not queue:  # unreachable steps start a new row at the bottom
            sid = next(i for i in ids if i not in row)
            row[sid] = (max(row.values()) + 1) if row else 0
            queue.append(sid)
        sid = queue.pop(0)
        if sid in order:
            continue
        order.append(sid)
        for _field, target in grammar.links(by_id[sid]):
            if target in by_id and target not in row:
                row[target] = row[sid] + 1
                queue.append(target)
    rows: dict[int, list[str]] = defaultdict(list)
    for sid in order:
        rows[row[sid]].append(sid)
    width_cols = max((len(r) for r in rows.values()), default=1)
    width = PAD * 2 + width_cols * BOX_W + (width_cols - 1) * GAP_X
    pos: dict[str, tuple[int, int]] = {}
    for r, members in rows.items():
        span = len(members) * BOX_W + (len(members) - 1) * GAP_X
        left = (width - span) // 2
        for c, sid in enumerate(members):
            pos[sid] = (left + c * (BOX_W + GAP_X), PAD + r * (BOX_H + GAP_Y))
    height = PAD * 2 + (max(rows, default=0) + 1) * (BOX_H + GAP_Y) - GAP_Y
    arrows = []
    for sid in order:
        outs = [(f, t) for f, t in grammar.links(by_id[sid]) if t in pos]
        x0, y0 = pos[sid]
        for k, (field, target) in enumerate(outs):
            x1, y1 = pos[target]
            sx = x0 + BOX_W * (k + 1) // (len(outs) + 1)
            sy = y0 + BOX_H
            tx, ty = x1 + BOX_W // 2, y1
            if ty > sy:
                mid = (sy + ty) // 2
                d = f"M{sx},{sy} C{sx},{mid} {tx},{mid} {tx},{ty - 6}"
            else:  # back to an earlier row: round the right-hand side
                side = max(x0, x1) + BOX_W + GAP_X // 2
                d = (
                    f"M{sx},{sy} C{sx},{sy + 30} {side},{sy + 30} {side},{(sy + ty) // 2} "
                    f"S{tx},{ty - 30} {tx},{ty - 6}"
                )
            arrows.append(
                {
                    "d": d,
                    "label": _arrow_label(by_id[sid], field),
                    "lx": (sx + tx) // 2 + 4,
                    "ly": (sy + ty) // 2,
                }
            )
    boxes = [{"id": sid, "x": pos[sid][0], "y": pos[sid][1], "step": by_id[sid]} for sid in order]
    return {
        "boxes": boxes,
        "arrows": arrows,
        "width": width,
        "height": max(height, BOX_H),
        "box_w": BOX_W,
        "box_h": BOX_H,
    }


def _arrow_label(step: dict, field: str) -> str:
    step_type = step_types.of(step)
    return step_type.link_label(step, field) if step_type else ""


# A person's campaigns ---------------------------------------------------------------------


def profile_enrollments(*, profile_id: int, limit: int = 20) -> list[Enrollment]:
    return list(
        Enrollment.objects.filter(profile_id=profile_id)
        .select_related("campaign")
        .order_by("-entered_at", "-id")[:limit]
    )


def profile_deliveries(*, profile_id: int, limit: int = 20) -> list[Delivery]:
    return list(
        Delivery.objects.filter(profile_id=profile_id)
        .select_related("campaign", "template")
        .order_by("-created_at", "-id")[:limit]
    )


def since(enrollment: Enrollment) -> datetime:
    last = (
        StepLog.objects.filter(enrollment=enrollment).order_by("-at").values_list("at", flat=True)
    ).first()
    return last or enrollment.entered_at


TIMELINE_KINDS = {"journey-entered": "Journeys entered"}


def timeline_items(*, profile, before, kinds, limit: int, filters=None) -> list:
    """Journey entries for profiles.selectors.timeline, newest first, after ``before``."""

    if "journey-entered" not in kinds:
        return []
    qs = Enrollment.objects.filter(profile_id=profile.pk).select_related("campaign")
    return [
        Item(
            kind="journey-entered",
            id=row.pk,
            time=row.entered_at,
            title=f"Entered journey “{row.campaign.name}”",
            detail=("in the holdout group" if row.holdout else "")
            + (f"variant {row.variant}" if row.variant and not row.holdout else ""),
            data={"campaign_id": row.campaign_id, "state": row.state},
        )
        for row in newest_after(qs, before, "journey-entered", "entered_at", limit)
    ]


# Messages in the customer timeline (registered with profiles in CampaignsConfig.ready):
# each kind reads the person's deliveries along the delivery_profile index.
MESSAGE_KINDS = {
    "message-sent": "Messages sent",
    "message-opened": "Messages opened",
    "message-clicked": "Messages clicked",
    "message-skipped": "Messages skipped",
}
MESSAGE_TIMES = {  # kind: (its time, which deliveries have one)
    "message-sent": ("sent_at", Q(sent_at__isnull=False)),
    "message-opened": ("opened_at", Q(opened_at__isnull=False)),
    "message-clicked": ("clicked_at", Q(clicked_at__isnull=False)),
    "message-skipped": ("created_at", Q(status=Delivery.Status.SKIPPED)),
}


def _message_title(delivery: Delivery, kind: str) -> str:
    what = delivery.get_channel_display()
    if delivery.template is not None:
        what += f" “{delivery.template.name}”"
    verb = kind.removeprefix("message-")
    return f"{what} {verb} · campaign “{delivery.campaign.name}”"


def message_timeline_items(*, profile, before, kinds, limit: int, filters=None) -> list:
    """Deliveries sent, opened, clicked or skipped for profiles.selectors.timeline: per
    kind, ``limit`` items after the cursor ``before``, newest first."""

    items = []
    for kind in sorted(set(kinds) & set(MESSAGE_KINDS)):
        field, having = MESSAGE_TIMES[kind]
        qs = Delivery.objects.filter(having, profile_id=profile.pk)
        rows = newest_after(qs.select_related("campaign", "template"), before, kind, field, limit)
        items += [
            Item(
                kind=kind,
                id=row.pk,
                time=getattr(row, field),
                title=_message_title(row, kind),
                detail=row.reason if kind == "message-skipped" else "",
                data={
                    "campaign_id": row.campaign_id,
                    "channel": row.channel,
                    "status": row.status,
                    "step_id": row.step_id,
                },
            )
            for row in rows
        ]
    return items


# What uses a segment, a destination or a message (none is deleted from under a campaign)


def _steps(campaign: Campaign) -> list[dict]:
    return (
        [s for s in campaign.steps if isinstance(s, dict)]
        if isinstance(campaign.steps, list)
        else []
    )


def _named(campaign: Campaign) -> str:
    return f"campaign “{campaign.name}”"


def campaigns_using_segment(segment) -> list[str]:
    """Campaigns whose people come from ``segment`` (kept by the database as well) or,
    unless finished, whose journey branches on it. Registered with segments."""
    found = []
    for campaign in Campaign.objects.only("name", "status", "segment_id", "steps"):
        branches = campaign.status != Campaign.Status.FINISHED and any(
            segment.pk in referenced_in(step.get("condition") or {})
            for step in _steps(campaign)
            if step.get("type") == "branch"
        )
        if campaign.segment_id == segment.pk or branches:
            found.append(_named(campaign))
    return found


def _open_campaigns_with_step(field: str, value: int) -> list[Campaign]:
    """Campaigns not finished with a step whose ``field`` is ``value``."""
    return [
        campaign
        for campaign in Campaign.objects.exclude(status=Campaign.Status.FINISHED).only(
            "name", "kind", "steps"
        )
        if any(str(step.get(field)) == str(value) for step in _steps(campaign))
    ]


def campaigns_using_destination(destination) -> list[str]:
    """Campaigns not finished with a step that sends through ``destination``. Registered
    with integrations' destinations."""
    return [_named(c) for c in _open_campaigns_with_step("destination_id", destination.pk)]


def campaigns_sending(*, template) -> list[str]:
    """Names of the campaigns not finished whose journey sends ``template``."""
    return [c.name for c in _open_campaigns_with_step("template_id", template.pk)]


def marketing_campaigns_sending(*, template) -> list[str]:
    """Names of the broadcasts and segment campaigns not finished that send ``template``."""
    return [
        c.name
        for c in _open_campaigns_with_step("template_id", template.pk)
        if c.kind != Campaign.Kind.EVENT
    ]


def deletion_consequences(*, campaign: Campaign) -> list[str]:
    """What deleting ``campaign`` takes with it, for the confirmation page."""
    entered = bounded_count(Enrollment.objects.filter(campaign=campaign))
    sent = bounded_count(Delivery.objects.filter(campaign=campaign))
    return [
        f"Its {_figure(entered)} enrollments (who entered, where each is) are deleted; "
        "the people's profiles stay.",
        f"Its {_figure(sent)} messages and actions, and its results, are deleted; messages "
        "already sent stay sent.",
    ]


def _figure(count) -> str:
    return f"{count.value:,}" if count.exact else f"more than {count.value:,}"


def protection_of(campaign: Campaign, settings: ActivationSettings) -> list[tuple[str, str]]:
    """(channel, its rules in words) for each message channel the journey sends on (the
    channel each step's type declares)."""
    steps = campaign.steps if isinstance(campaign.steps, list) else []
    used = {kind.channel for kind in map(step_types.of, steps) if kind is not None}
    return [
        (label, protection.describe(settings.for_channel(channel), settings.time_zone))
        for channel, label in ChannelRules.Channel.choices
        if channel in used
    ]
