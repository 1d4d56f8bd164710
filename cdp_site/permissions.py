"""The permission matrix: which role may do what. The one place it is defined.

Every view and API endpoint declares the capability it needs (``@requires``,
``RequiresCapability`` or ``required_capability`` on a DRF view); the matrix test
in tests/cdp_site walks every URL for every role and fails on an undeclared one.
"""

from enum import StrEnum


class Cap(StrEnum):
    OWN_ACCOUNT = "account.self"  # own password, own API tokens
    VIEW_DASHBOARDS = "dashboards.view"
    VIEW_PROFILES = "profiles.view"
    ADD_NOTES = "profiles.note"
    MANAGE_PROFILES = "profiles.manage"  # merges, unmerges, consent edits, privacy requests
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
        }
    ),
    VIEWER: frozenset({Cap.OWN_ACCOUNT, Cap.VIEW_DASHBOARDS}),
}
ROLES = tuple(ROLE_CAPABILITIES)

ROLE_DESCRIPTIONS = {
    ADMIN: "Everything, including users, sources, destinations and integrations.",
    MARKETER: "Builds segments and campaigns; reads profiles.",
    ACCOUNT_MANAGER: "Reads profiles and timelines; adds notes; undoes merges; records consent.",
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
    if not user or not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(Cap)
    return frozenset().union(*(ROLE_CAPABILITIES[name] for name in _role_names(user)))


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
