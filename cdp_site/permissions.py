"""The permission matrix: which role may do what. The one place it is defined.

Every view and API endpoint declares the capability it needs (``@requires``,
``RequiresCapability`` or ``required_capability`` on a DRF view); the matrix test
in tests/cdp_site walks every URL for every role and fails on an undeclared one.
"""

from collections.abc import Callable
from enum import StrEnum


class Cap(StrEnum):
    OWN_ACCOUNT = "account.self"  # own password, own API tokens
    VIEW_DASHBOARDS = "dashboards.view"
    VIEW_PROFILES = "profiles.view"
    ADD_NOTES = "profiles.note"
    MANAGE_PROFILES = "profiles.manage"  # merges, unmerges, consent edits
    # Data subject requests: export, erase or restrict a person (profiles/privacy/).
    HANDLE_PRIVACY_REQUESTS = "profiles.privacy"
    MANAGE_IDENTITY_RULES = "profiles.rules"  # identity rules, computed traits, stage rules
    VIEW_SEGMENTS = "segments.view"
    MANAGE_SEGMENTS = "segments.manage"
    VIEW_CAMPAIGNS = "campaigns.view"
    MANAGE_CAMPAIGNS = "campaigns.manage"
    VIEW_INTEGRATIONS = "integrations.view"
    MANAGE_INTEGRATIONS = "integrations.manage"
    MANAGE_USERS = "users.manage"
    MANAGE_ACCOUNT = "account.manage"  # the account's settings (its time zone)
    VIEW_AUDIT = "audit.view"  # the audit trail: who did what, when, from where
    # Personal traits and identifiers in clear (masked otherwise: profiles/masking.py) and
    # exports holding them. Beyond the fixed matrix: an admin grants it to roles
    # (GRANTABLE below).
    SEE_PERSONAL_DATA = "profiles.personal"


ADMIN = "Admin"
MARKETER = "Marketer"
ACCOUNT_MANAGER = "Account manager"
VIEWER = "Viewer"

ROLE_CAPABILITIES: dict[str, frozenset[Cap]] = {
    ADMIN: frozenset(Cap),
    MARKETER: frozenset(
        {
            Cap.OWN_ACCOUNT,
            Cap.VIEW_DASHBOARDS,
            Cap.VIEW_PROFILES,
            Cap.VIEW_SEGMENTS,
            Cap.MANAGE_SEGMENTS,
            Cap.VIEW_CAMPAIGNS,
            Cap.MANAGE_CAMPAIGNS,
        }
    ),
    ACCOUNT_MANAGER: frozenset(
        {
            Cap.OWN_ACCOUNT,
            Cap.VIEW_DASHBOARDS,
            Cap.VIEW_PROFILES,
            Cap.ADD_NOTES,
            Cap.MANAGE_PROFILES,
            Cap.HANDLE_PRIVACY_REQUESTS,
        }
    ),
    VIEWER: frozenset({Cap.OWN_ACCOUNT, Cap.VIEW_DASHBOARDS}),
}
ROLES = tuple(ROLE_CAPABILITIES)

# Capabilities an admin grants to roles on top of the matrix (Admin holds them anyway).
# The grant is kept by the app that owns the setting, which registers its reader here in
# AppConfig.ready() (profiles: PersonalDataSettings); a lower app never imports it.
GRANTABLE = frozenset({Cap.SEE_PERSONAL_DATA})
_grant_readers: list[Callable[[], dict[str, frozenset[Cap]]]] = []


def register_grants(reader: Callable[[], dict[str, frozenset[Cap]]]) -> None:
    """``reader()`` answers {role name: capabilities granted}, of GRANTABLE only."""
    if reader not in _grant_readers:
        _grant_readers.append(reader)


def granted_capabilities() -> dict[str, frozenset[Cap]]:
    """What each role holds beyond the matrix, by the registered readers."""
    granted: dict[str, frozenset[Cap]] = {}
    for reader in _grant_readers:
        for role, caps in reader().items():
            granted[role] = granted.get(role, frozenset()) | (frozenset(caps) & GRANTABLE)
    return granted


ROLE_DESCRIPTIONS = {
    ADMIN: "Everything, including users, sources, destinations and integrations.",
    MARKETER: "Builds segments and campaigns; reads profiles.",
    ACCOUNT_MANAGER: (
        "Reads profiles and timelines; adds notes; undoes merges; records consent; "
        "handles privacy requests."
    ),
    VIEWER: "Reads dashboards.",
}


def _role_names(user) -> tuple[str, ...]:
    """The user's role names, read once per request and kept on the user object."""
    cached = getattr(user, "_cdp_roles", None)
    if cached is None:
        if "groups" in getattr(user, "_prefetched_objects_cache", {}):
            # A list of users fetched with prefetch_related("groups"): no query per user.
            cached = tuple(g.name for g in user.groups.all() if g.name in ROLES)
        else:
            cached = tuple(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._cdp_roles = cached
    return cached


def capabilities_of(user) -> frozenset[Cap]:
    """The matrix's capabilities of the user's role and what an admin granted the role;
    the grants are read once per request (kept on the user object, as the roles are)."""
    if not user or not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(Cap)
    cached = getattr(user, "_cdp_capabilities", None)
    if cached is None:
        names = _role_names(user)
        granted = granted_capabilities() if names and _grant_readers else {}
        cached = frozenset().union(
            *(ROLE_CAPABILITIES[name] for name in names),
            *(granted.get(name, frozenset()) for name in names),
        )
        user._cdp_capabilities = cached
    return cached


def has_capability(user, cap: Cap) -> bool:
    return cap in capabilities_of(user)


def role_of(user) -> str | None:
    """The user's role name (a user holds one role)."""
    if user.is_superuser:
        return ADMIN
    names = _role_names(user)
    return names[0] if names else None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def capability_for(declared, method: str) -> Cap:
    """``declared`` is a Cap, or a (read, write) pair chosen by the HTTP method."""
    if isinstance(declared, tuple):
        read, write = declared
        return read if method in SAFE_METHODS else write
    return declared
