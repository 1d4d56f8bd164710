"""Profiles: people, the identifiers that point at them, and every fact that follows them.

One principle runs through the tables: each fact (an event, a trait value, a consent
record) keeps the identity it arrived through, and a profile is the set of its
identities. A merge moves identities (and, denormalised, the facts' profile ids); an
unmerge moves the merged identities back and the facts follow them again.
"""

from .changes import ProfileChange
from .consent import ConsentPurpose, ConsentRecord
from .identity import (
    BlockedValue,
    IdentifierKind,
    Identity,
    IdentitySettings,
    PersonalDataSettings,
    SourceIdentity,
)
from .matching import MatchCandidate, MatchCursor, MatchModel, MatchRun, MatchSettings
from .privacy import PrivacyRequest, PropagationJob
from .profile import (
    EmailConfirmation,
    LinkRefusal,
    Merge,
    Note,
    Profile,
    ProfileEvent,
    UnresolvedEvent,
)
from .rectification import TraitRectification
from .retention import RetentionPolicy, RetentionRun, RetentionSettings
from .stage import Stage, StageChange, StageRule
from .traits import ComputedTrait, TraitKey, TraitValue

__all__ = [
    "BlockedValue",
    "ComputedTrait",
    "ConsentPurpose",
    "ConsentRecord",
    "EmailConfirmation",
    "IdentifierKind",
    "Identity",
    "IdentitySettings",
    "LinkRefusal",
    "MatchCandidate",
    "MatchCursor",
    "MatchModel",
    "MatchRun",
    "MatchSettings",
    "Merge",
    "Note",
    "PersonalDataSettings",
    "PrivacyRequest",
    "PropagationJob",
    "Profile",
    "ProfileChange",
    "ProfileEvent",
    "RetentionPolicy",
    "RetentionRun",
    "RetentionSettings",
    "SourceIdentity",
    "Stage",
    "StageChange",
    "StageRule",
    "TraitKey",
    "TraitRectification",
    "TraitValue",
    "UnresolvedEvent",
]
