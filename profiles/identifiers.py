"""Which identifiers an event carries, normalised, under the identity rules in force.

Pure functions over a loaded ``Rules`` snapshot: the resolver, the dry run and the
tests share them, and they never touch the database themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.apps import apps as django_apps

from cdp_site.contact_points import normalize_email, normalize_phone

from . import defaults, trust

MAX_VALUE_LENGTH = 300


@dataclass(frozen=True)
class KindRule:
    id: int
    name: str
    priority: int
    limit: int | None
    normalizer: str


@dataclass(frozen=True)
class Ident:
    kind: KindRule
    value: str
    # An alias's previousId may be a user id or an anonymous id: such candidates link
    # when known and are otherwise left to the candidate of the source's user-id kind.
    lookup_only: bool = False
    # Asserted by a trusted call (a server source, or verified by a signature): see
    # profiles/trust.py. Not part of the key: the same value, believed or not.
    verified: bool = field(default=True, compare=False)

    @property
    def key(self) -> tuple[int, str]:
        return (self.kind.id, self.value)


@dataclass(frozen=True)
class Refused:
    kind: str
    value: str
    reason: str


@dataclass
class Rules:
    kinds: dict[str, KindRule]
    trait_kinds: dict[str, str]  # trait key -> kind name
    blocked_any: frozenset[str]
    blocked: frozenset[tuple[int, str]]
    source_user_kind: dict[int, str]
    phone_region: str
    by_id: dict[int, KindRule] = field(init=False)

    def __post_init__(self):
        self.by_id = {k.id: k for k in self.kinds.values()}

    def user_kind(self, source_id: int) -> KindRule:
        return self.kinds[self.source_user_kind.get(source_id, "user_id")]


def load_rules() -> Rules:
    defaults.ensure_installed()
    IdentifierKind = django_apps.get_model("profiles", "IdentifierKind")
    kinds, trait_kinds = {}, {}
    for kind in IdentifierKind.objects.all():
        kinds[kind.name] = KindRule(
            kind.id, kind.name, kind.priority, kind.max_per_profile, kind.normalizer
        )
        for key in kind.trait_keys:
            trait_kinds[key] = kind.name
    blocked_any, blocked = set(), set()
    for kind_id, value in django_apps.get_model("profiles", "BlockedValue").objects.values_list(
        "kind_id", "value"
    ):
        if kind_id is None:
            blocked_any.add(value.lower())
        else:
            blocked.add((kind_id, value.lower()))
    sources = django_apps.get_model("profiles", "SourceIdentity").objects.values_list(
        "source_id", "user_id_kind__name"
    )
    settings = django_apps.get_model("profiles", "IdentitySettings").objects.first()
    return Rules(
        kinds=kinds,
        trait_kinds=trait_kinds,
        blocked_any=frozenset(blocked_any),
        blocked=frozenset(blocked),
        source_user_kind=dict(sources),
        phone_region=settings.default_phone_region if settings else "US",
    )


def normalize(kind: KindRule, raw, rules: Rules) -> tuple[str | None, str]:
    """(normalised value, "") or (None, why it cannot be an identifier)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None, "not a text or a number"
    value = str(raw).strip()
    if not value:
        return None, "empty"
    if len(value) > MAX_VALUE_LENGTH:
        return None, f"longer than {MAX_VALUE_LENGTH} characters"
    if kind.normalizer == "lower":
        value = value.lower()
    elif kind.normalizer == "email":
        value = normalize_email(value)
        if value is None:
            return None, "not an e-mail address"
    elif kind.normalizer == "phone":
        phone = normalize_phone(value, rules.phone_region)
        if phone is None:
            return None, "not a valid phone number"
        value = phone
    folded = value.lower()
    if folded in rules.blocked_any or (kind.id, folded) in rules.blocked:
        return None, "blocked value"
    return value, ""


def _raw_identifiers(event: dict, rules: Rules) -> Iterable[tuple[str, object, bool, str]]:
    """(kind name, raw value, lookup only, origin) of each identifier the event states."""
    payload = event["payload"]
    user_kind = rules.user_kind(event["source_id"]).name
    if payload.get("userId") not in (None, ""):
        yield user_kind, payload["userId"], False, "userId"
    if payload.get("anonymousId") not in (None, ""):
        yield "anonymous_id", payload["anonymousId"], False, "anonymousId"
    if event["type"] == "alias" and payload.get("previousId") not in (None, ""):
        yield user_kind, payload["previousId"], True, "previousId"
        yield "anonymous_id", payload["previousId"], True, "previousId"
    for traits in event_traits(event):
        for key, kind in rules.trait_kinds.items():
            if key in traits and traits[key] not in (None, ""):
                yield kind, traits[key], False, f"trait:{key}"
    context = payload.get("context") if isinstance(payload.get("context"), dict) else {}
    external = context.get("externalIds")
    for item in external if isinstance(external, list) else ():
        if isinstance(item, dict) and item.get("type") in rules.kinds:
            yield item["type"], item.get("id"), False, "externalId"


def event_traits(event: dict) -> list[dict]:
    """The trait dictionaries an event states: identify/group traits, then context.traits."""
    payload = event["payload"]
    found = []
    if event["type"] == "identify" and isinstance(payload.get("traits"), dict):
        found.append(payload["traits"])
    context = payload.get("context")
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        found.append(context["traits"])
    return found


def identifiers_of(event: dict, rules: Rules) -> tuple[list[Ident], list[Refused]]:
    """The event's identifiers, strongest first and each once, and those refused."""
    found: dict[tuple[int, str], Ident] = {}
    refused = []
    # Per event, not per identifier: most events come from server sources, believed whole.
    found_verdict = trust.verdict(event)
    client = found_verdict.get("level") == "client"
    for kind_name, raw, lookup_only, origin in _raw_identifiers(event, rules):
        belief = (
            trust.client_identifier(found_verdict, origin, kind_name)
            if client
            else trust.USE_VERIFIED
        )
        if not belief.usable:
            continue  # a client source's claim that nothing vouches for: not a link
        kind = rules.kinds[kind_name]
        value, reason = normalize(kind, raw, rules)
        if value is None:
            refused.append(Refused(kind_name, str(raw)[:200], reason))
            continue
        ident = Ident(kind, value, lookup_only, belief.verified)
        previous = found.get(ident.key)
        if previous is None or _better(ident, previous):
            found[ident.key] = ident
    ordered = sorted(found.values(), key=lambda i: (-i.kind.priority, i.lookup_only, i.value))
    return ordered, refused


def _better(new: Ident, old: Ident) -> bool:
    """Of one value stated twice by an event: a link over a lookup, believed over not."""
    return (old.lookup_only and not new.lookup_only) or (new.verified and not old.verified)
