"""Writes for matching: the settings, training, passes, and the review queue's decisions.

A pass reads every active profile (or those changed since the last pass) as the
matcher's rows, scores the pairs blocking lets through, and then, pair by pair:

- at or above the auto-merge threshold, merges through the merge ledger (reason
  "probabilistic", the score and the model version: undone with the usual unmerge),
  unless something holds it back: a veto (a given name or birth date clearly against),
  evidence that only an unverified client source asserted, two different values of a
  unique identifier (two CRM ids), or a person's earlier decision (rejected, unmerged);
- between the review and the auto-merge thresholds (or held back), queues it for review;
- below, does nothing.

A dry run works the same out and writes only its report.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from cdp_site import audit
from cdp_site.celery import LONG_TASK

from ..models import MatchCandidate, MatchModel, MatchRun, MatchSettings, Merge, Profile
from ..services import ProfileError, merge_profiles
from . import engine, explain, fields, progress, selectors
from .decide import UNIQUE_IDENTIFIER, decide, different_unique_identifiers


class MatchingError(Exception):
    """What cannot be done, with the field or part at fault: shown at that field in the
    page and as a 400 in the API."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


# -- settings -------------------------------------------------------------------------

SETTING_FIELDS = (
    "enabled",
    "mapping",
    "comparisons",
    "blocking",
    "vetoes",
    "phone_region",
    "day_first",
    "auto_merge_threshold",
    "review_threshold",
    "memory_limit",
    "max_block",
)


@transaction.atomic
def update_settings(*, actor=None, **changes) -> MatchSettings:
    """Checks and saves the settings (each error names its field); audited with what
    changed. A change to the fields, comparisons or blocking makes the current model
    stale: passes are refused until it is retrained."""
    unknown = set(changes) - set(SETTING_FIELDS)
    if unknown:
        raise MatchingError(sorted(unknown)[0], "not a matching setting")
    current = MatchSettings.objects.select_for_update().get(pk=MatchSettings.load().pk)
    before = {name: getattr(current, name) for name in changes}
    for name, value in changes.items():
        setattr(current, name, value)
    _check(current)
    current.save()
    audit.record(
        action="matching.settings",
        actor=actor,
        target=current,
        details=audit.changed(before, {name: getattr(current, name) for name in changes}),
    )
    return current


def _check(current: MatchSettings) -> None:
    try:
        current.mapping = fields.validate_mapping(current.mapping or {})
    except fields.MappingError as exc:
        raise MatchingError("mapping", f"{exc.field}: {exc.reason}") from None
    chosen = selectors.definition(current)
    try:
        engine.validate(chosen.comparisons, chosen.blocking)
        engine._memory(current.memory_limit)
    except engine.ModelError as exc:
        raise MatchingError(exc.part.split("[")[0], f"{exc.part}: {exc.reason}") from None
    compared = {c["field"] for c in chosen.comparisons}
    if not set(current.vetoes or []) <= compared:
        raise MatchingError("vetoes", "a veto names a field the model compares")
    if not 0.5 <= current.review_threshold <= current.auto_merge_threshold <= 1:
        raise MatchingError(
            "review_threshold",
            "0.5 ≤ review threshold ≤ auto-merge threshold ≤ 1 (1 turns auto-merging off)",
        )
    if len(current.phone_region) != 2 or not current.phone_region.isalpha():
        raise MatchingError("phone_region", "a two-letter country code such as NL or US")
    current.phone_region = current.phone_region.upper()


# -- training -------------------------------------------------------------------------


def train(*, actor=None) -> MatchModel:
    """Trains a model on the active profiles with the current settings and stores it as
    the next version."""
    current = MatchSettings.load()
    chosen = selectors.definition(current)
    rows = list(selectors.matcher_rows(chosen))
    started = time.monotonic()
    try:
        trained = engine.train(
            rows,
            comparisons=chosen.comparisons,
            blocking=chosen.blocking,
            limits=selectors.limits(current),
        )
    except engine.ModelError as exc:
        raise MatchingError(exc.part, exc.reason) from None
    model = MatchModel.objects.create(
        definition=chosen.as_json(),
        signature=chosen.signature,
        splink=trained,
        profiles_used=len(rows),
        seconds=round(time.monotonic() - started, 2),
        trained_by=actor,
    )
    audit.record(
        action="matching.train", actor=actor, target=model, details={"profiles": len(rows)}
    )
    return model


def usable_model(chosen: selectors.Definition) -> MatchModel:
    model = selectors.latest_model()
    if model is None:
        raise MatchingError("model", "no model yet: train one first")
    if model.signature != chosen.signature:
        raise MatchingError(
            "model",
            f"model v{model.pk} was trained on other fields, comparisons or blocking than "
            "the settings now name: retrain it",
        )
    return model


# -- passes ---------------------------------------------------------------------------


def start_run(*, kind: str, actor=None) -> MatchRun:
    """A new run, or MatchingError when one is running (two passes at once would merge
    the same people twice) or the model does not fit the settings."""
    current = MatchSettings.load()
    model = usable_model(selectors.definition(current))
    forget_lost_runs()
    try:
        with transaction.atomic():
            return MatchRun.objects.create(
                kind=kind,
                model=model,
                auto_merge_threshold=current.auto_merge_threshold,
                review_threshold=current.review_threshold,
                started_by=actor,
            )
    except IntegrityError:
        raise MatchingError("run", "a pass is running; wait for it to finish") from None


# A pass still "running" after its task's hard time limit lost its worker (killed, or the
# machine went down): it ran past what Celery allows, so nothing will ever finish it.
LOST_AFTER = timedelta(seconds=LONG_TASK["time_limit"] + 60)


def forget_lost_runs(*, now=None) -> int:
    """Marks failed the passes whose worker was lost, so that they block no new pass (nor
    the incremental matcher). Their merges stay: the next pass goes on from there."""
    cutoff = (now or timezone.now()) - LOST_AFTER
    return MatchRun.objects.filter(status=MatchRun.Status.RUNNING, started_at__lt=cutoff).update(
        status=MatchRun.Status.FAILED,
        finished_at=timezone.now(),
        error="lost: its worker stopped before it finished (what it merged stays)",
    )


def run_pass(*, run_id: int, listener: progress.Listener | None = None) -> MatchRun:
    """Scores and acts (or, for a dry run, reports); the run records the outcome and,
    while it runs, its progress (told to ``listener`` too: the command's bar). Any
    failure is recorded on the run, never left running."""
    run = MatchRun.objects.select_related("model").get(pk=run_id)
    if run.status != MatchRun.Status.RUNNING:
        return run  # a retried task: done already
    try:
        _run(run, progress.Progress(run, listener=listener))
        run.status = MatchRun.Status.DONE
    except Exception as exc:  # recorded on the run; the pass can be started again
        run.status, run.error = MatchRun.Status.FAILED, str(exc)[:500]
    run.finished_at = timezone.now()
    run.save()
    return run


def _run(run: MatchRun, steps: progress.Progress) -> None:
    steps.phase(progress.READING)
    current = MatchSettings.load()
    chosen = selectors.definition(current)
    since = None
    if run.kind == MatchRun.Kind.INCREMENTAL:
        previous = (
            MatchRun.objects.filter(status=MatchRun.Status.DONE, kind__in=["full", "incremental"])
            .exclude(pk=run.pk)
            .first()
        )
        since = previous.changed_after if previous else None
    run.changed_after = timezone.now()
    rows = list(selectors.matcher_rows(chosen))
    changed = (
        {row[engine.ID] for row in selectors.matcher_rows(chosen, changed_after=since)}
        if since
        else None
    )
    steps.phase(progress.SCORING, total=len(rows))
    scored = engine.score(
        rows,
        model=run.model.splink,
        threshold=run.review_threshold,
        vetoes=chosen.vetoes,
        limits=selectors.limits(current),
    )
    pairs = scored.pairs
    if changed is not None:
        pairs = [p for p in pairs if p.left in changed or p.right in changed]
    run.profiles, run.pairs, run.capped = len(rows), len(pairs), scored.capped
    steps.phase(progress.DECIDING, total=len(pairs))
    plan = decide(pairs, auto=run.auto_merge_threshold, chosen=chosen)
    if run.kind == MatchRun.Kind.DRY_RUN:
        run.merged, run.queued = plan.merge_count(), len(plan.queue)
        run.samples = plan.samples()
    else:
        run.merged, run.queued = act(plan, model=run.model, steps=steps)
    run.held = plan.held_counts()


def act(plan, *, model: MatchModel, steps: progress.Progress | None = None) -> tuple[int, int]:
    """Queues the plan's pairs for review and merges its groups: (merged, queued)."""
    steps = steps or progress.Progress(None)  # the incremental pass: no run row
    steps.phase(progress.QUEUEING, total=len(plan.queue))
    queued = _queue(plan.queue, model)
    steps.phase(progress.MERGING, total=plan.merge_count())
    return _merge(plan.groups, plan.scores, model=model, held=plan.held, steps=steps), queued


def _queue(queue: list, model: MatchModel) -> int:
    """Upserts the pairs into the review queue; a pair already decided keeps its status."""
    rows = [
        MatchCandidate(
            low_id=pair.key[0],
            high_id=pair.key[1],
            probability=pair.probability,
            weight=pair.weight,
            model=model,
            held_by=reasons,
            parts={name: [pair.levels.get(name), weight] for name, weight in pair.parts.items()},
        )
        for pair, reasons in queue
    ]
    MatchCandidate.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["low_id", "high_id"],
        update_fields=["probability", "weight", "model", "held_by", "parts"],
    )
    return len(rows)


def _merge(
    groups: list[set[int]], scores: dict, *, model: MatchModel, held, steps: progress.Progress
) -> int:
    """Merges each group into its oldest profile, one merge (and transaction) at a time:
    a profile merged or erased since the scoring is skipped, and the rest goes on."""
    best: dict[int, float] = {}  # each profile's strongest pair: the score its merge keeps
    for (low, high), pair in scores.items():
        for profile_id in (low, high):
            best[profile_id] = max(best.get(profile_id, 0.0), pair.probability)
    merged = tried = 0
    for group in groups:
        survivor, *others = sorted(group)
        for other in others:
            if _merge_one(
                survivor=survivor, merged=other, score=best[other], model=model, held=held
            ):
                merged += 1
            tried += 1
            steps.advanced(tried)
    return merged


def _merge_one(*, survivor: int, merged: int, score: float, model: MatchModel, held) -> bool:
    """One merge in its own transaction; False when it cannot be (now) made."""
    uniques = selectors.unique_identities([survivor, merged])
    if different_unique_identifiers(uniques.get(survivor, {}), uniques.get(merged, {})):
        held[UNIQUE_IDENTIFIER] += 1  # joined through a third profile: two CRM ids now
        return False
    try:
        merge_profiles(
            survivor_id=survivor,
            merged_id=merged,
            actor=None,
            reason=Merge.Reason.PROBABILISTIC,
            score=score,
            model_version=model.pk,
        )
    except ProfileError:
        return False
    low, high = engine.pair_key(survivor, merged)
    MatchCandidate.objects.filter(low_id=low, high_id=high).update(
        status=MatchCandidate.Status.MERGED, decided_at=timezone.now()
    )
    return True


# -- the review queue -----------------------------------------------------------------


def accept(*, candidate_id: int, actor) -> MatchCandidate:
    """A person says the two are one: merged (into the older profile), through the
    ledger like any merge by a person, with the matcher's score kept on it. A pair whose
    profile is gone or merged since is set aside (stale) and refused, so the queue moves
    on: checked before the merge's transaction, which an error would roll back."""
    gone = MatchingError("candidate", "one of the two profiles is gone or merged since")
    if set_aside_if_gone(candidate_id=candidate_id):
        raise gone
    with transaction.atomic():
        candidate = _pending(candidate_id)
        try:
            merge_profiles(
                survivor_id=candidate.low_id,
                merged_id=candidate.high_id,
                actor=actor,
                score=candidate.probability,
                model_version=candidate.model_id,
            )
        except ProfileError:  # merged away in between: the next look sets it aside
            raise gone from None
        return _decided(candidate, MatchCandidate.Status.ACCEPTED, actor)


def explanation(candidate: MatchCandidate) -> explain.Explanation | None:
    """Why the pair scored what it did, from what its pass kept (None without a model)."""
    if candidate.model is None:
        return None
    pair = engine.Pair(
        left=candidate.low_id,
        right=candidate.high_id,
        weight=candidate.weight,
        probability=candidate.probability,
        parts={name: weight for name, (_, weight) in candidate.parts.items()},
        levels={name: level for name, (level, _) in candidate.parts.items()},
    )
    return explain.explain_pair(candidate.model.splink, pair)


@transaction.atomic
def reject(*, candidate_id: int, actor) -> MatchCandidate:
    """A person says the two are two people: never suggested or merged by the matcher
    again."""
    candidate = _decided(_pending(candidate_id), MatchCandidate.Status.REJECTED, actor)
    audit.record(
        action="matching.reject",
        actor=actor,
        target=candidate,
        details={"profiles": [candidate.low_id, candidate.high_id]},
    )
    return candidate


def _pending(candidate_id: int) -> MatchCandidate:
    candidate = MatchCandidate.objects.select_for_update().filter(pk=candidate_id).first()
    if candidate is None:
        raise MatchingError("candidate", "no such pair")
    if candidate.status != MatchCandidate.Status.PENDING:
        raise MatchingError("candidate", f"already decided: {candidate.get_status_display()}")
    return candidate


def _decided(candidate: MatchCandidate, status: str, actor) -> MatchCandidate:
    candidate.status, candidate.decided_by, candidate.decided_at = status, actor, timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate


def explain_profiles(*, left: int, right: int) -> explain.Explanation:
    """Why any two profiles would score what they do with the latest model (the model
    page's "Explain a pair" and the API's explain); MatchingError naming the side at
    fault when a profile is not active or holds nothing the matcher compares."""
    if left == right:
        raise MatchingError("right", "choose two different profiles")
    chosen = selectors.definition()
    model = usable_model(chosen)
    rows = {row[engine.ID]: row for row in selectors.matcher_rows(chosen, only=[left, right])}
    for side, profile_id in (("left", left), ("right", right)):
        if profile_id not in rows:
            raise MatchingError(side, _unmatchable(profile_id))
    limits = selectors.limits(MatchSettings.load())
    # explain() numbers the two rows itself: the profile ids it is given are replaced.
    return explain.explain(model.splink, rows[left], rows[right], limits=limits)


def _unmatchable(profile_id: int) -> str:
    if not Profile.objects.filter(pk=profile_id, merged_into__isnull=True).exists():
        return f"profile {profile_id} is not an active profile (gone or merged)"
    return (
        f"profile {profile_id} has nothing the matcher can compare "
        "(it needs a name and one more field)"
    )


def set_aside_if_gone(*, candidate_id: int) -> bool:
    """Marks a pending pair stale when one of its profiles is gone or merged since, so the
    queue moves on past it. Whether it was set aside."""
    candidate = MatchCandidate.objects.filter(
        pk=candidate_id, status=MatchCandidate.Status.PENDING
    ).first()
    if candidate is None:
        return False
    active = Profile.objects.filter(
        pk__in=[candidate.low_id, candidate.high_id], merged_into__isnull=True
    ).count()
    if active == 2:
        return False
    candidate.status = MatchCandidate.Status.STALE
    candidate.save(update_fields=["status"])
    return True
