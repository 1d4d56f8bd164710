"""Writes on the rules of profiles: identifier kinds, blocked values, identity settings,
what a source's userId means, computed traits, trait survivorship and stage rules.

Forms and serializers validate, then call these. Rule changes apply to events processed
from now on; computed traits are backfilled for every profile by a task.
"""

from __future__ import annotations

import hashlib
import json

from django.core import signing
from django.db import transaction

from cdp_site import audit
from cdp_site.permissions import ADMIN, ROLES

from ..computed import definitions
from ..computed.backfill import queue_backfill, queue_refresh
from ..models import (
    BlockedValue,
    ComputedTrait,
    IdentifierKind,
    Identity,
    IdentitySettings,
    PersonalDataSettings,
    SourceIdentity,
    StageRule,
    TraitKey,
)
from ..sql import execute

DRY_RUN_SALT = "profiles.rules.dry-run"
DRY_RUN_MAX_AGE = 3600


class RulesError(Exception):
    """A rules change that cannot be made, with a message for the person."""


# Dry-run confirmation: a signed digest of the proposal the figures were shown for.


def proposal_digest(proposal: dict) -> str:
    canonical = json.dumps(proposal, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def dry_run_token(proposal: dict) -> str:
    return dry_run_token_for(proposal_digest(proposal))


def dry_run_token_for(digest: str) -> str:
    return signing.dumps(digest, salt=DRY_RUN_SALT)


def dry_run_confirmed(proposal: dict, token: str | None) -> bool:
    """True when ``token`` was issued with a dry run of this very proposal."""
    if not token:
        return False
    try:
        digest = signing.loads(token, salt=DRY_RUN_SALT, max_age=DRY_RUN_MAX_AGE)
    except signing.BadSignature:
        return False
    return digest == proposal_digest(proposal)


# Identifier kinds


@transaction.atomic
def create_kind(
    *,
    name: str,
    label: str,
    priority: int,
    max_per_profile: int | None,
    normalizer: str,
    trait_keys: list[str],
    personal: bool = False,
) -> IdentifierKind:
    if IdentifierKind.objects.filter(name=name).exists():
        raise RulesError(f"An identifier kind named {name!r} exists already.")
    kind = IdentifierKind.objects.create(
        name=name,
        label=label,
        priority=priority,
        max_per_profile=max_per_profile,
        normalizer=normalizer,
        trait_keys=trait_keys,
        builtin=False,
        personal=personal,
    )
    if personal:
        _audit_personal(kind, before=False)
    return kind


def _audit_personal(target, *, before: bool) -> None:
    """A personal-data flag changed: who sees what in clear changed with it."""
    if target.personal != before:
        details = {"personal": [before, target.personal]}
        audit.record(action="personal_data.flag", target=target, details=details)


@transaction.atomic
def update_kind(*, kind: IdentifierKind, **changes) -> IdentifierKind:
    allowed = {"label", "priority", "max_per_profile", "normalizer", "trait_keys", "personal"}
    unknown = set(changes) - allowed
    if unknown:
        raise RulesError(f"Cannot change {', '.join(sorted(unknown))} of an identifier kind.")
    if kind.builtin and "normalizer" in changes and changes["normalizer"] != kind.normalizer:
        raise RulesError("The normaliser of a built-in identifier kind cannot change.")
    was_personal = kind.personal
    for field, value in changes.items():
        setattr(kind, field, value)
    kind.save()
    _audit_personal(kind, before=was_personal)
    return kind


@transaction.atomic
def delete_kind(*, kind: IdentifierKind) -> None:

    if kind.builtin:
        raise RulesError("A built-in identifier kind cannot be deleted.")
    if (
        Identity.objects.filter(kind=kind).exists()
        or SourceIdentity.objects.filter(user_id_kind=kind).exists()
    ):
        raise RulesError("This identifier kind is in use by profiles or sources.")
    kind.delete()


# Blocked values


@transaction.atomic
def add_blocked_value(*, kind: IdentifierKind | None, value: str) -> BlockedValue:
    value = value.strip()
    if not value:
        raise RulesError("A blocked value cannot be empty.")
    same = BlockedValue.objects.filter(kind=kind, value__iexact=value)
    if same.exists():
        raise RulesError(f"{value!r} is blocked already.")
    return BlockedValue.objects.create(kind=kind, value=value)


@transaction.atomic
def remove_blocked_value(*, blocked: BlockedValue) -> None:
    blocked.delete()


def blocked_list() -> list[tuple[str | None, str]]:
    return [
        (kind, value)
        for kind, value in BlockedValue.objects.order_by("pk").values_list("kind__name", "value")
    ]


# Identity settings and sources


@transaction.atomic
def set_phone_region(*, region: str) -> IdentitySettings:
    settings = IdentitySettings.load()
    settings.default_phone_region = region.upper()
    settings.save()
    return settings


@transaction.atomic
def set_source_user_kind(*, source, kind: IdentifierKind | None) -> SourceIdentity | None:
    """``kind`` None: the source's userId is a user id again (the default)."""
    if kind is None or kind.name == "user_id":
        SourceIdentity.objects.filter(source=source).delete()
        return None
    setting, _ = SourceIdentity.objects.update_or_create(
        source=source, defaults={"user_id_kind": kind}
    )
    return setting


# Computed traits

DROP_KEY = "UPDATE profiles_profile SET computed = computed - %s WHERE computed ? %s"


EDITABLE = (
    "key", "label", "event_name", "aggregation", "property", "window_days",
    "filters", "formula", "score_of", "higher_is_better",
)  # fmt: skip


@transaction.atomic
def save_computed_trait(*, trait: ComputedTrait | None = None, **fields) -> ComputedTrait:
    """Creates or updates a definition (checked by profiles.computed.definitions), then
    backfills it for every profile. A key others' formulas or scores read cannot change."""
    current = {f: getattr(trait, f) for f in EDITABLE} if trait else {}
    try:
        fields = definitions.check({**current, **fields}, pk=trait.pk if trait else None)
    except definitions.DefinitionError as error:
        raise RulesError(error.message) from None
    if trait is None:
        trait = ComputedTrait(**{f: v for f, v in fields.items() if f in EDITABLE})
        old_key = None
    else:
        old_key = trait.key
        for field, value in fields.items():
            if field in EDITABLE:
                setattr(trait, field, value)
    if ComputedTrait.objects.filter(key=trait.key).exclude(pk=trait.pk).exists():
        raise RulesError(f"A computed trait with the key {trait.key!r} exists already.")
    if old_key and old_key != trait.key:
        _refuse_if_read(old_key, "change the key of")
    trait.save()
    if old_key and old_key != trait.key:
        execute(DROP_KEY, [old_key, old_key])
    queue_backfill(trait_id=trait.pk)  # sent after the commit, through the outbox
    return trait


def _refuse_if_read(key: str, doing: str) -> None:
    readers = definitions.readers_of(key)
    if readers:
        names = ", ".join(sorted(readers))
        raise RulesError(
            f"{names} read{'s' if len(readers) == 1 else ''} `{key}`: "
            f"change {'it' if len(readers) == 1 else 'them'} before you {doing} it."
        )


@transaction.atomic
def delete_computed_trait(*, trait: ComputedTrait) -> None:
    _refuse_if_read(trait.key, "delete")
    execute(DROP_KEY, [trait.key, trait.key])
    trait.delete()


# Trait survivorship and stage rules


@transaction.atomic
def update_trait_key(*, trait_key: TraitKey, **changes) -> TraitKey:
    unknown = set(changes) - {"type", "strategy", "personal"}
    if unknown:
        raise RulesError(f"Cannot change {', '.join(sorted(unknown))} of a trait.")
    was_personal = trait_key.personal
    # The flag changes what is shown, not the current values: no recomputation for it.
    recompute = bool(set(changes) & {"type", "strategy"}) or not changes
    for field, value in changes.items():
        setattr(trait_key, field, value)
    trait_key.save(update_fields=list(changes) or None)
    _audit_personal(trait_key, before=was_personal)
    if recompute:
        queue_refresh(key=trait_key.key)  # sent after the commit, through the outbox
    return trait_key


# Who sees personal data in clear


def personal_data_roles() -> list[str]:
    """The roles besides Admin granted Cap.SEE_PERSONAL_DATA (PersonalDataSettings)."""
    return list(PersonalDataSettings.load().granted_roles)


@transaction.atomic
def set_personal_data_roles(*, roles: list[str]) -> PersonalDataSettings:
    """Grants seeing personal data in clear (and exporting it) to ``roles``, and only to
    them; Admin always holds it. Audited with before and after."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise RulesError(f"Unknown roles: {', '.join(sorted(unknown))}.")
    settings = PersonalDataSettings.objects.select_for_update().get(
        pk=PersonalDataSettings.load().pk
    )
    before = sorted(settings.granted_roles)
    after = sorted(set(roles) - {ADMIN})
    if before != after:
        settings.granted_roles = after
        settings.save()
        details = audit.changed({"roles": before}, {"roles": after})
        audit.record(action="personal_data.grant", target=settings, details=details)
    return settings


@transaction.atomic
def update_stage_rule(*, rule: StageRule, **changes) -> StageRule:
    unknown = set(changes) - {"event_names", "min_count", "min_days", "quiet_days"}
    if unknown:
        raise RulesError(f"Cannot change {', '.join(sorted(unknown))} of a stage rule.")
    for field, value in changes.items():
        setattr(rule, field, value)
    if rule.stage == "lapsed":
        if not rule.quiet_days:
            raise RulesError("The lapsed rule needs a number of quiet days.")
    elif not rule.event_names:
        raise RulesError("A stage rule needs at least one event name.")
    rule.save()
    return rule
