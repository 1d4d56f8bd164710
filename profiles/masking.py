"""Personal data shown masked: the one door every page, API answer and list that shows a
person's traits or identifiers goes through.

A trait key or an identifier kind is personal when an admin marked it so
(``TraitKey.personal``, ``IdentifierKind.personal``; a trait key first seen is marked when
its name looks personal: ``looks_personal``). Whoever lacks Cap.SEE_PERSONAL_DATA (Admin
always holds it; an admin grants it to other roles, PersonalDataSettings) sees those
values masked: ``a•••@example.com``, ``+31 6 •••• 12``, ``A••• S•••``. The stored data is
never changed; search still finds people by the whole value, and shows them masked.

``masker_for(user)`` answers a ``Masker``: ``clear`` for those who see everything (every
method then hands back what it was given), else the personal keys and kinds, read once.
Other apps (segments' member lists, campaigns' recipients) use it as profiles does.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import phonenumbers

from cdp_site.permissions import Cap, has_capability

from .models import IdentifierKind, TraitKey

BULLETS = "•••"
PHONE_BULLETS = "••••"

# What a trait key that holds a person's data looks like, case-insensitively: checked in
# Python (looks_personal) and in PostgreSQL (survivorship's INSERT_KEYS, "~*"), so only
# syntax both read. NOT_PERSONAL_KEY takes back flags and counts about such data
# (email_verified, phone_opt_in) and names of things rather than people.
PERSONAL_KEY = (
    r"(e[-_]?mail|phone|mobile|fax|^tel$|telephone|name$|^name|surname|address|street"
    r"|postal|post[-_]?code|zip|birth|^dob$|^age$|passport|national[-_]?id|^ssn$|iban)"
)
NOT_PERSONAL_KEY = (
    r"(verified|confirmed|opt[-_]?in|opt[-_]?out|consent|bounced|valid|count|domain"
    r"|company|organi[sz]ation|product|campaign|page|event|plan|utm|file|host|brand)"
)
_PERSONAL = re.compile(PERSONAL_KEY, re.IGNORECASE)
_NOT_PERSONAL = re.compile(NOT_PERSONAL_KEY, re.IGNORECASE)
# The traits a profile's display name is made of (profiles/survivorship.py RECOMPUTE).
NAME_TRAITS = frozenset({"firstName", "first_name", "lastName", "last_name", "name", "email"})
_PHONE_KEY = re.compile(r"(phone|mobile|fax|^tel$|telephone)", re.IGNORECASE)
_PHONE_TEXT = re.compile(r"\+[\d\s().\-/]{6,}")  # with a country code: not a date


def looks_personal(key: str) -> bool:
    """Whether a trait key's name says it holds a person's data (the default flag)."""
    return bool(_PERSONAL.search(key or "")) and not _NOT_PERSONAL.search(key or "")


# --- masking one value ------------------------------------------------------------------


def mask_text(value) -> object:
    """The first character of each of the first words, the rest hidden: ``A••• S•••``.
    Not a text (a number, a date as a number, a list, an object): ``•••``. None and ""
    stay as they are: there is nothing to hide."""
    if value is None or value == "":
        return value
    if not isinstance(value, str):
        return BULLETS
    words = value.split()
    if not words:
        return BULLETS
    return " ".join(f"{word[0]}{BULLETS}" for word in words[:4])


def mask_email(value) -> object:
    """``ann@example.com`` -> ``a•••@example.com`` (the domain stays: it says which
    provider, not who). Not an address: masked as text."""
    if not isinstance(value, str) or not value.strip():
        return mask_text(value)
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain:
        return mask_text(value)
    return f"{local[0]}{BULLETS}@{domain}"


def mask_phone(value) -> object:
    """``+31612345612`` -> ``+31 6 •••• 12``: the country code, the first digit of the
    national number (mobile or landline) and the last two digits. A number without a
    country code keeps its first and last two digits; fewer than six digits: all hidden."""
    if value is None or value == "":
        return value
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) < 6:
        return PHONE_BULLETS
    if text.startswith("+"):
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            number = None
        national = str(number.national_number) if number and number.national_number else ""
        if len(national) >= 5:
            return f"+{number.country_code} {national[0]} {PHONE_BULLETS} {national[-2:]}"
    return f"{'+' if text.startswith('+') else ''}{digits[0]} {PHONE_BULLETS} {digits[-2:]}"


def mask_value(value, *, style: str = "text") -> object:
    """``style``: "email", "phone" or "text" (an identifier kind's normalizer, or what a
    trait's key says). A list or an object is masked item by item."""
    if isinstance(value, list):
        return [mask_value(item, style=style) for item in value]
    if isinstance(value, dict):
        return {key: mask_value(item, style=style) for key, item in value.items()}
    if style == "email" or (isinstance(value, str) and "@" in value):
        return mask_email(value)
    if style == "phone" or (isinstance(value, str) and _PHONE_TEXT.fullmatch(value.strip())):
        return mask_phone(value)
    return mask_text(value)


def style_of_key(key: str) -> str:
    if "mail" in key.lower():
        return "email"
    return "phone" if _PHONE_KEY.search(key) else "text"


# --- what one viewer sees ---------------------------------------------------------------


@dataclass(frozen=True)
class Masker:
    """What one viewer sees: ``clear`` everything, else ``traits`` (personal trait keys,
    the personal kinds' trait keys with them) and identifiers of ``kinds`` (personal kind
    name -> its normalizer) masked."""

    clear: bool = True
    traits: frozenset[str] = frozenset()
    kinds: Mapping[str, str] = field(default_factory=dict)

    def identity(self, kind: str, value):
        if self.clear or kind not in self.kinds:
            return value
        return mask_value(value, style=self.kinds[kind])

    def trait(self, key: str, value):
        if self.clear or key not in self.traits:
            return value
        return mask_value(value, style=style_of_key(key))

    def traits_of(self, traits: Mapping | None) -> dict:
        """A profile's current traits (a dict) with the personal ones masked."""
        traits = traits if isinstance(traits, Mapping) else {}
        return {key: self.trait(key, value) for key, value in traits.items()}

    def properties(self, value):
        """An event's properties: a key that is a personal trait is masked wherever it
        nests (a form's ``email``, ``traits.phone``)."""
        if self.clear or not isinstance(value, Mapping | list):
            return value
        if isinstance(value, list):
            return [self.properties(item) for item in value]
        return {
            key: self.trait(key, item) if key in self.traits else self.properties(item)
            for key, item in value.items()
        }

    @property
    def masks_names(self) -> bool:
        return not self.clear and bool(NAME_TRAITS & self.traits)

    def name(self, display_name: str) -> str:
        """A profile's display name, masked when a trait it is made of is personal."""
        if not self.masks_names or not display_name:
            return display_name
        return mask_email(display_name) if "@" in display_name else mask_text(display_name)

    # Selectors' results, masked as copies (never saved): the pages and the API show these.

    def profile(self, profile):
        """A copy of a Profile whose display name and traits are masked."""
        if self.clear:
            return profile
        shown = copy.copy(profile)
        shown.display_name = self.name(profile.display_name)
        shown.traits = self.traits_of(profile.traits)
        return shown

    def profiles(self, profiles: Iterable) -> list:
        return [self.profile(p) for p in profiles]

    def identities(self, identities: Iterable) -> list:
        """Copies of Identity rows (their ``kind`` loaded) with personal values masked."""
        if self.clear:
            return list(identities)
        shown = []
        for identity in identities:
            if identity.kind.name in self.kinds:
                identity = copy.copy(identity)
                identity.value = self.identity(identity.kind.name, identity.value)
            shown.append(identity)
        return shown

    def trait_rows(self, traits: Iterable) -> list:
        """selectors.Trait rows: the current value and every other value seen."""
        if self.clear:
            return list(traits)
        return [
            dataclasses.replace(
                t,
                value=self.trait(t.key, t.value),
                others=[dataclasses.replace(o, value=self.trait(t.key, o.value)) for o in t.others],
            )
            if t.key in self.traits
            else t
            for t in traits
        ]

    def merges(self, merges: Iterable) -> list:
        """Merge rows: the identity the profiles shared, masked."""
        if self.clear:
            return list(merges)
        shown = []
        for merge in merges:
            if merge.identity_id and merge.identity and merge.identity.kind.name in self.kinds:
                merge = copy.copy(merge)
                merge.identity = self.identities([merge.identity])[0]
            shown.append(merge)
        return shown

    def detail(self, detail: dict) -> dict:
        """selectors.profile_detail's answer, masked."""
        if self.clear:
            return detail
        return {
            **detail,
            "profile": self.profile(detail["profile"]),
            "identities": [
                (label, self.identities(items)) for label, items in detail["identities"]
            ],
            "traits": self.trait_rows(detail["traits"]),
            "merges": self.merges(detail["merges"]),
        }

    def summary(self, summary: dict | None) -> dict | None:
        """selectors.merge_summary's answer, masked."""
        if self.clear or summary is None:
            return summary
        return {
            **summary,
            "profile": self.profile(summary["profile"]),
            "identities": [
                (label, self.identities(items)) for label, items in summary["identities"]
            ],
            "email": self.identity("email", summary["email"]),
        }

    def timeline_items(self, items: Iterable) -> list:
        """Timeline items: events' properties, refused links' identifiers."""
        if self.clear:
            return list(items)
        return [self._item(item) for item in items]

    def _item(self, item):
        if item.kind == "event" and item.data.get("properties"):
            data = {**item.data, "properties": self.properties(item.data["properties"])}
            return dataclasses.replace(item, data=data)
        if item.kind == "refusal" and item.data.get("kind") in self.kinds:
            kind, value = item.data["kind"], self.identity(item.data["kind"], item.data["value"])
            title = f"Not linked: {kind} {value}"
            return dataclasses.replace(item, title=title, data={**item.data, "value": value})
        return item


CLEAR = Masker()


def masker_for_request(request) -> Masker:
    """``masker_for`` the request's user, read once per request (the API's serializers
    each ask)."""
    masker = getattr(request, "_cdp_masker", None)
    if masker is None:
        masker = masker_for(request.user)
        request._cdp_masker = masker
    return masker


def masker_for(user) -> Masker:
    """The masker of what ``user`` may see (two small reads when masking applies)."""
    if has_capability(user, Cap.SEE_PERSONAL_DATA):
        return CLEAR
    kinds = dict(IdentifierKind.objects.filter(personal=True).values_list("name", "normalizer"))
    kind_traits = IdentifierKind.objects.filter(personal=True).values_list("trait_keys", flat=True)
    traits = set(TraitKey.objects.filter(personal=True).values_list("key", flat=True))
    traits.update(key for keys in kind_traits for key in keys)
    return Masker(clear=False, traits=frozenset(traits), kinds=kinds)
