"""Rectification: a trait's value corrected by hand, with the reason, kept in the trait's
provenance (models/rectification.py). What other apps and the pages may use:
``rectify_trait`` and ``end_rectification`` (writes), ``history_of`` (reads).

A correction wins over every source's value while it stands (survivorship.RECOMPUTE
ranks it first), even over a value a source states later: a person asked for it, and a
source that keeps sending the wrong value would otherwise undo it at its next message.
It stands until a person ends it (or corrects the trait again); then the sources' values
compete as before. Either way the row stays, so the page and the access export show who
set what, when, why, and the value it replaced.

The profile row is locked first, as processing locks it before it recomputes the
current traits: a batch processed at the same time sees the correction, or waits for it.
The audit trail names the profile, the trait key and the correction's id, never a value
or the reason (which may quote one).
"""

from __future__ import annotations

import contextlib
import json

from django.db import transaction
from django.utils import timezone

from cdp_site import audit
from cdp_site.field_errors import FieldErrors

from .changes import ChangeSet
from .models import Profile, TraitKey, TraitRectification
from .pipeline import refresh_profiles
from .survivorship import conform, is_empty

MAX_TEXT = 1000
NO_REASON = "Say why the value is corrected."
TYPE_WORDS = {
    TraitKey.Type.TEXT: "text",
    TraitKey.Type.NUMBER: "a number",
    TraitKey.Type.BOOLEAN: "yes or no (true / false)",
    TraitKey.Type.OBJECT: "a JSON object",
    TraitKey.Type.LIST: "a JSON list",
}


class RectificationError(FieldErrors):
    """A correction that cannot be made as given: the field and what to do."""

    names_fields = False


def _refuse(field: str, message: str):
    return RectificationError([{"field": field, "message": message}])


def typed(raw, trait: TraitKey):
    """``raw`` (text from a form, any JSON from the API) as a value of the trait's type;
    RectificationError on ``value`` when it is none."""
    if isinstance(raw, str):
        raw = raw.strip()
        if trait.type in (TraitKey.Type.OBJECT, TraitKey.Type.LIST):
            with contextlib.suppress(ValueError):  # refused below, as of the wrong type
                raw = json.loads(raw)
    if is_empty(raw) or raw in ({}, []):
        raise _refuse("value", "Give the correct value.")
    value, wrong = conform(raw, trait.type)
    if wrong:
        raise _refuse(
            "value", f"The trait “{trait.key}” holds {TYPE_WORDS[trait.type]}: this is not one."
        )
    if len(json.dumps(value)) > MAX_TEXT:
        raise _refuse("value", f"Keep the value under {MAX_TEXT} characters.")
    return value


def _locked_active(profile_id: int) -> Profile:
    profile = Profile.objects.select_for_update().filter(pk=profile_id).first()
    if profile is None or not profile.is_active:
        raise _refuse("", "This profile was merged into another or no longer exists.")
    return profile


def _end_standing(profile_id: int, key: str, actor) -> int:
    return TraitRectification.objects.filter(
        profile_id=profile_id, key=key, removed_at__isnull=True
    ).update(removed_at=timezone.now(), removed_by=actor)


def _refresh(profile_id: int, key: str) -> None:
    """The current traits again, and the change signal segments and campaigns follow."""
    changes = ChangeSet()
    changes.add(profile_id, "traits", traits=[key])
    refresh_profiles(changes)
    changes.emit()


@transaction.atomic
def rectify_trait(*, profile_id: int, key: str, value, reason: str, actor) -> TraitRectification:
    """Sets the trait ``key`` of the (active) profile to ``value`` (typed against the
    trait's type), for the ``reason`` given; ends the correction it replaces, if any."""
    reason = (reason or "").strip()
    trait = TraitKey.objects.filter(key=key).first()
    if trait is None:
        raise _refuse("key", f"There is no trait “{key[:120]}”.")
    errors = []
    try:
        value = typed(value, trait)
    except RectificationError as error:
        errors += error.errors
    if not reason or len(reason) > MAX_TEXT:
        message = f"Keep the reason under {MAX_TEXT} characters."
        errors.append({"field": "reason", "message": message if reason else NO_REASON})
    if errors:
        raise RectificationError(errors)
    profile = _locked_active(profile_id)
    _end_standing(profile.pk, key, actor)
    row = TraitRectification.objects.create(
        profile=profile,
        key=key,
        value=value,
        previous_value=(profile.traits or {}).get(key),
        reason=reason,
        set_by=actor,
    )
    _refresh(profile.pk, key)
    audit.record(
        action="profile.trait_rectified",
        actor=actor,
        target=profile,
        details={"key": key, "rectification": row.pk},
    )
    return row


@transaction.atomic
def end_rectification(*, profile_id: int, key: str, actor) -> int:
    """Ends the standing correction of ``key``: the sources' values compete again.
    Returns how many corrections ended (0: there was none)."""
    profile = _locked_active(profile_id)
    ended = _end_standing(profile.pk, key, actor)
    if not ended:
        raise _refuse("key", f"The trait “{key[:120]}” has no correction to remove.")
    _refresh(profile.pk, key)
    audit.record(
        action="profile.trait_rectification_ended",
        actor=actor,
        target=profile,
        details={"key": key},
    )
    return ended


def history_of(*, profile_id: int) -> dict[str, list[TraitRectification]]:
    """Every correction of the profile's traits, newest first per key."""
    found: dict[str, list[TraitRectification]] = {}
    rows = TraitRectification.objects.filter(profile_id=profile_id).select_related(
        "set_by", "removed_by"
    )
    for row in rows:
        found.setdefault(row.key, []).append(row)
    return found
