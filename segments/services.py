"""Writes on segments: definitions (validated, cycle-free), recomputes, the real-time
evaluator's steps and the scheduled passes. Views, API and tasks call these."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from cdp_site import debounce, outbox
from cdp_site.confirm import in_use
from cdp_site.field_errors import FieldErrors

from . import grammar, membership, realtime, selectors
from .models import Segment, SizeSample

logger = logging.getLogger(__name__)

CHANGES_TRIGGER = "cdp:segments:changes-pending"


class SegmentError(FieldErrors):
    """A request about segments that cannot be done."""

    names_fields = False


def _segment_conditions(node: dict, path: str = "root"):
    """(path, segment id) of every segment condition of a rule tree."""
    if node.get("type") == "segment":
        yield path, node.get("segment_id")
    for i, child in enumerate(node.get("children") or ()):
        if isinstance(child, dict):
            yield from _segment_conditions(child, f"{path}.children[{i}]")


def _refused_references(segment_id: int | None, rule: dict) -> list[dict]:
    """A segment condition naming a segment that does not exist, or leading back to the
    segment itself through the segments it refers to: refused at the condition."""
    rules = dict(Segment.objects.values_list("pk", "rule"))
    problems = []
    for path, ref in _segment_conditions(rule["root"]):
        if ref not in rules:
            problems.append(
                {"field": f"{path}.segment_id", "message": f"Segment {ref} does not exist."}
            )
        elif segment_id is not None and _reaches(ref, segment_id, rules):
            problems.append(
                {
                    "field": f"{path}.segment_id",
                    "message": "This segment would "
                    "contain itself through the segments it refers to.",
                }
            )
    return problems


def _reaches(start: int, target: int, rules: dict) -> bool:
    stack, seen = [start], set()
    while stack:
        current = stack.pop()
        if current == target:
            return True
        if current not in seen:
            seen.add(current)
            stack.extend(realtime.referenced(Segment(pk=current, rule=rules.get(current) or {})))
    return False


def check_rule(rule, *, segment_id: int | None = None) -> grammar.Summary:
    try:
        summary = grammar.validate(rule)
    except grammar.RuleError as error:
        raise SegmentError(error.errors) from error
    problems = _refused_references(segment_id, rule)
    if problems:
        raise SegmentError(problems)
    return summary


def _apply_summary(segment: Segment, summary: grammar.Summary) -> None:
    segment.depends_on = sorted(summary.depends_on)
    segment.event_names = sorted(summary.event_names)
    segment.slides = summary.slides


@transaction.atomic
def create_segment(
    *,
    name: str,
    rule: dict,
    description: str = "",
    created_by=None,
    include_restricted: bool = False,
    on_site: bool = False,
) -> Segment:
    """``include_restricted``: people a privacy request restricted are members too (counted
    and listed; still no campaign or export acts on them). ``on_site``: flagged for
    on-site use (a source's personalisation may show membership to the visitor)."""
    summary = check_rule(rule)
    segment = Segment(
        name=name,
        description=description,
        rule=rule,
        created_by=created_by,
        include_restricted=include_restricted,
        on_site=on_site,
    )
    _apply_summary(segment, summary)
    segment.save()
    queue_recompute(segment=segment)
    return segment


@transaction.atomic
def update_segment(
    *,
    segment: Segment,
    name: str,
    rule: dict,
    description: str = "",
    include_restricted: bool | None = None,
    on_site: bool | None = None,
) -> Segment:
    """``include_restricted`` and ``on_site`` None: unchanged."""
    if segment.kind == Segment.Kind.DYNAMIC:
        _apply_summary(segment, check_rule(rule, segment_id=segment.pk))
        segment.rule = rule
    if include_restricted is not None:
        segment.include_restricted = include_restricted
    if on_site is not None and on_site != segment.on_site:
        segment.on_site = on_site
        transaction.on_commit(_on_site_changed)
    segment.name, segment.description = name, description
    segment.save()
    queue_recompute(segment=segment)
    return segment


# Hook: called after commit when a segment's on-site flag changed (campaigns registers
# the rebuild of the personalisation API's cached answers).
ON_SITE_LISTENERS: list = []


def register_on_site_listener(fn) -> None:
    if fn not in ON_SITE_LISTENERS:
        ON_SITE_LISTENERS.append(fn)


def _on_site_changed() -> None:
    for listener in ON_SITE_LISTENERS:
        listener()


def deletion_problem(*, segment: Segment) -> str:
    """Why ``segment`` may not be deleted now ('' when it may): what uses it."""
    return in_use(selectors.users_of(segment=segment), then="change or delete")


@transaction.atomic
def delete_segment(*, segment: Segment) -> None:
    """Deletes the segment with its members and history; refused (with what uses it)
    while a segment, a campaign or an export uses it."""
    problem = deletion_problem(segment=Segment.objects.select_for_update().get(pk=segment.pk))
    if problem:
        raise SegmentError([{"field": "segment", "message": problem}])
    if segment.on_site:  # its members stop seeing it on the site
        transaction.on_commit(_on_site_changed)
    try:
        segment.delete()
    except ProtectedError as error:  # a campaign made it its own meanwhile
        users = sorted({f"campaign “{obj}”" for obj in error.protected_objects})
        message = in_use(users, then="change or delete")
        raise SegmentError([{"field": "segment", "message": message}]) from None


def queue_recompute(*, segment: Segment) -> None:
    """Marks the segment computing and queues its full recompute after commit."""
    Segment.objects.filter(pk=segment.pk).update(computing_since=timezone.now())
    outbox.enqueue("segments.tasks.recompute_segment", segment.pk)


def recompute_segment(*, segment_id: int) -> int:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return 0
    segment = membership.recompute(segment)
    with transaction.atomic():
        realtime.follow_dependents(segment.pk, segment.changed_profile_ids)
    return segment.member_count


def recompute_sliding_segments() -> int:
    """The scheduled pass: segments whose time windows slide, dependencies first."""
    done = 0
    for segment in realtime.ordered_segments():
        if segment.slides:
            segment = membership.recompute(segment, reason="time window moved")
            with transaction.atomic():
                realtime.follow_dependents(segment.pk, segment.changed_profile_ids)
            done += 1
    return done


def retry_failing_segments() -> int:
    """The scheduled pass: every segment whose last computation failed (in real time or
    in full) is recomputed in full, dependencies first; one that fails again keeps its
    error and the others go on. Returns how many now succeed."""
    done = 0
    for segment in realtime.ordered_segments():
        if not segment.compute_error:
            continue
        try:
            recompute_segment(segment_id=segment.pk)
            done += 1
        except Exception:  # recorded on the segment by recompute; the next one goes on
            logger.warning("segment %s still fails", segment.pk, exc_info=True)
    return done


def record_sizes() -> int:
    now = timezone.now()
    segments = list(Segment.objects.all())
    SizeSample.objects.bulk_create(
        SizeSample(segment=s, at=now, size=s.memberships.count()) for s in segments
    )
    return len(segments)


def trigger_profile_changes(**_) -> None:
    """Connected to profiles' ``profile_changed``: queue the evaluator once."""
    debounce.queue_once(CHANGES_TRIGGER, "segments.tasks.process_profile_changes")


def process_profile_changes() -> int:
    debounce.clear(CHANGES_TRIGGER)
    total = 0
    while read := realtime.process_changes():
        total += read
    return total
