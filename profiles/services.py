"""Writes on profiles made by people and schedules: merges, unmerges, notes, consent,
and the scheduled passes. Event processing itself is profiles.pipeline."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from cdp_site import audit

from . import computed, defaults, stage_history, stages
from .changes import ChangeSet
from .consent import summarise
from .models import (
    ConsentPurpose,
    ConsentRecord,
    IdentifierKind,
    Identity,
    Merge,
    Note,
    Profile,
    SourceIdentity,
)
from .pipeline import refresh_profiles
from .sql import execute, rows, to_json
from .writes import FOLLOWING_TABLES, IDENTITYLESS, MOVE_SQL, follow_chain

FACT_TABLES = ("profiles_profileevent", "profiles_traitvalue", "profiles_consentrecord")
MOVE_BACK_SQL = """
UPDATE {table} SET profile_id = %s WHERE profile_id = %s AND identity_id = ANY(%s)
"""
MOVE_IDS_BACK_SQL = "UPDATE {table} SET profile_id = %s WHERE profile_id = %s AND id = ANY(%s)"


class ProfileError(Exception):
    """A request about profiles that cannot be done, with a message for the person."""


def _lock(*profile_ids: int) -> dict[int, Profile]:
    locked = Profile.objects.select_for_update().filter(pk__in=profile_ids).order_by("pk")
    return {p.pk: p for p in locked}


@transaction.atomic
def merge_profiles(
    *,
    survivor_id: int,
    merged_id: int,
    actor,
    reason: str = Merge.Reason.MANUAL,
    score: float | None = None,
    model_version: int | None = None,
) -> Merge:
    """A merge decided by a person (or, with ``reason`` "probabilistic", by the matcher,
    with its ``score`` and ``model_version``): ``merged`` goes into ``survivor``."""
    if survivor_id == merged_id:
        raise ProfileError("A profile cannot be merged with itself.")
    profiles = _lock(survivor_id, merged_id)
    if len(profiles) != 2 or any(not p.is_active for p in profiles.values()):
        raise ProfileError("Both profiles must exist and not be merged already.")
    identity_ids = list(
        Identity.objects.filter(profile_id=merged_id).order_by("pk").values_list("pk", flat=True)
    )
    moved_facts = {}
    for table, sql in IDENTITYLESS.items():
        (ids,) = follow_chain(rows(sql, [[merged_id]]), [(survivor_id, merged_id)])
        if ids:
            moved_facts[table] = ids
    for table in FOLLOWING_TABLES:
        execute(MOVE_SQL.format(table=table), [[merged_id], [survivor_id]])
    Profile.objects.filter(pk=merged_id).update(merged_into_id=survivor_id)
    merge = Merge.objects.create(
        survivor_id=survivor_id,
        merged_id=merged_id,
        reason=reason,
        score=score,
        model_version=model_version,
        actor=actor,
        identity_ids=identity_ids,
        moved_facts=moved_facts,
    )
    audit.record(
        action="profile.merge",
        actor=actor,
        target=merge,
        details={"profiles": [survivor_id, merged_id]}
        | ({"reason": reason, "score": score} if reason != Merge.Reason.MANUAL else {}),
    )
    changes = ChangeSet()
    changes.add(survivor_id, "merged", merged=[merged_id])
    changes.add(merged_id, "merged_away", into=survivor_id)
    refresh_profiles(changes)
    changes.emit()
    return merge


def _moving_back(merge: Merge) -> list[int]:
    """The merge's identities, plus those attached through them after the merge."""
    moving = set(
        Identity.objects.filter(
            pk__in=merge.identity_ids, profile_id=merge.survivor_id
        ).values_list("pk", flat=True)
    )
    frontier = set(moving)
    while frontier:
        frontier = set(
            Identity.objects.filter(
                profile_id=merge.survivor_id,
                attached_via__in=frontier,
                created_at__gt=merge.created_at,
            )
            .exclude(pk__in=moving)
            .values_list("pk", flat=True)
        )
        moving |= frontier
    return sorted(moving)


@transaction.atomic
def unmerge(*, merge_id: int, actor) -> Merge:
    """Undoes a merge: the merged profile comes back with the identities it brought (and
    those attached through them since), and every event, trait value and consent record
    follows its identity back."""
    merge = Merge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise ProfileError("No such merge.")
    if merge.undone_at:
        raise ProfileError("This merge was already undone.")
    profiles = _lock(merge.survivor_id, merge.merged_id)
    survivor = profiles[merge.survivor_id]
    if not survivor.is_active:
        raise ProfileError(
            f"Profile {survivor.pk} was merged into profile {survivor.merged_into_id} since; "
            "undo that merge first."
        )
    moving = _moving_back(merge)
    Identity.objects.filter(pk__in=moving).update(profile_id=merge.merged_id)
    for table in FACT_TABLES:
        execute(MOVE_BACK_SQL.format(table=table), [merge.merged_id, merge.survivor_id, moving])
    for table, ids in merge.moved_facts.items():
        if table in IDENTITYLESS:  # the ledger names only these tables
            execute(
                MOVE_IDS_BACK_SQL.format(table=table), [merge.merged_id, merge.survivor_id, ids]
            )
    Profile.objects.filter(pk=merge.merged_id).update(merged_into=None, updated_at=timezone.now())
    merge.undone_at, merge.undone_by = timezone.now(), actor
    merge.save(update_fields=["undone_at", "undone_by"])
    audit.record(
        action="profile.unmerge",
        actor=actor,
        target=merge,
        details={"profiles": [merge.survivor_id, merge.merged_id], "identities": len(moving)},
    )
    changes = ChangeSet()
    changes.add(merge.survivor_id, "unmerged", split=[merge.merged_id])
    changes.add(merge.merged_id, "unmerged", split_from=merge.survivor_id)
    for pid in (merge.survivor_id, merge.merged_id):
        changes.add_many([pid], "identities")
    refresh_profiles(changes)
    changes.emit()
    return merge


def record_view(*, profile: Profile, viewer, via: str) -> None:
    """A person's profile was shown to ``viewer`` (``via``: "page" or "api"): audited."""
    audit.record(action="profile.view", actor=viewer, target=profile, details={"via": via})


@transaction.atomic
def add_note(*, profile: Profile, author, body: str) -> Note:
    body = body.strip()
    if not body:
        raise ProfileError("A note needs some text.")
    note = Note.objects.create(profile=profile, author=author, body=body)
    changes = ChangeSet()
    changes.add(profile.pk, "note")
    changes.emit()
    return note


@transaction.atomic
def record_consent(
    *, profile: Profile, purpose: str, status: str, actor=None, evidence: dict | None = None
) -> ConsentRecord:
    """A consent statement made outside an event: in the UI, through the API."""

    if status not in ConsentRecord.Status.values:
        raise ProfileError(f"Unknown consent status {status!r}.")
    found = ConsentPurpose.objects.filter(slug=purpose).first()
    if found is None:
        raise ProfileError(f"Unknown consent purpose {purpose!r}.")
    record = ConsentRecord.objects.create(
        profile=profile,
        purpose=found,
        status=status,
        actor=actor,
        evidence=evidence or {},
        recorded_at=timezone.now(),
    )
    summarise([profile.pk])
    audit.record(
        action="consent.record",
        actor=actor,
        target=profile,
        details={"purpose": purpose, "status": status},
    )
    changes = ChangeSet()
    changes.add(profile.pk, "consent", purposes=[purpose])
    changes.emit()
    return record


SET_TRAIT = """
UPDATE profiles_profile SET traits = traits || jsonb_build_object(%s::text, %s::jsonb),
    updated_at = now()
WHERE id = %s
"""


def set_trait(*, profile_id: int, key: str, value) -> None:
    """Sets a current trait outside any source (a journey's "set trait" step): there is no
    provenance row, so the next value a source states replaces it. The change signal
    lets segments follow."""
    execute(SET_TRAIT, [key, to_json(value), profile_id])
    changes = ChangeSet()
    changes.add(profile_id, "traits", traits=[key])
    changes.emit()


def set_source_user_id_kind(*, source, kind_name: str) -> SourceIdentity:
    defaults.ensure_installed()
    kind = IdentifierKind.objects.get(name=kind_name)
    setting, _ = SourceIdentity.objects.update_or_create(
        source=source, defaults={"user_id_kind": kind}
    )
    return setting


def recompute_sliding_traits() -> int:
    return computed.recompute_sliding()


def recompute_scores() -> int:
    """The quintile scores and RFM segments of every customer (every 15 minutes, and on demand
    through queue_score_recompute)."""
    return computed.recompute_scores()


def queue_score_recompute() -> None:
    computed.scores.queue_recompute()


def _stages_in_chunks(*, next_ids, move, on_chunk=None) -> tuple[int, int]:
    """Runs ``move`` (stages.update or stage_history.rewrite) over the profiles
    ``next_ids(after)`` hands out, a chunk per transaction so that processing is never
    held up for long, and signals the profiles whose stage changed. Returns (profiles
    seen, profiles moved)."""
    seen = moved = after = 0
    while ids := next_ids(after=after):
        with transaction.atomic():
            changed = move(ids)
            changes = ChangeSet()
            changes.add_many(changed, "stage")
            changes.emit()
        seen, moved, after = seen + len(ids), moved + len(changed), ids[-1]
        if on_chunk:
            on_chunk(seen)
    return seen, moved


def refresh_retained_stages(*, chunk: int = 5000) -> int:
    """The scheduled pass that moves quiet retained customers to lapsed."""
    _, moved = _stages_in_chunks(
        next_ids=lambda after: stages.retained_profile_ids(after=after, chunk=chunk),
        move=stages.update,
    )
    return moved


def backfill_stage_history(*, chunk: int = 500, on_chunk=None) -> int:
    """Rebuilds every active profile's stage history from its events (for data that
    arrived before the history was complete, or after the stage rules changed); returns
    how many profiles were replayed. ``on_chunk(done)`` reports progress."""
    seen, _ = _stages_in_chunks(
        next_ids=lambda after: stage_history.profiles_with_events(after=after, chunk=chunk),
        move=stage_history.rewrite,
        on_chunk=on_chunk,
    )
    return seen
