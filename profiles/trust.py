"""What processing believes of an event, from the verdict the collection API stored with
it (integrations.collect.messages.trust_verdict; README, "Security: source trust").

- A server source's event is believed: its identifiers link, its traits are verified.
- A client source's event (a website, an app: public write key) may always use its
  anonymous id, so a device keeps its own profile. A user id, e-mail or phone links to
  a known customer only when the site's backend signed it (``verified``), or, when the
  admin turned verification off, unverified (``unverifiedLinks``: the identity is kept
  as unverified). Other identifiers from the browser (a CRM id in the traits, external
  ids) never link unless verification is off.
- An alias from a client source may only look its previousId up as an anonymous id:
  linking another user id would merge someone else's profile into the caller's.

Events stored before verdicts existed carry none and are believed as before.
"""

from __future__ import annotations

from dataclasses import dataclass

TRUST_KEY = "cdpTrust"
SERVER = {"level": "server"}
VERIFIABLE_TRAITS = {"email": "email", "phone": "phone"}  # trait key → signed field


@dataclass(frozen=True)
class Belief:
    usable: bool
    verified: bool


USE_VERIFIED = Belief(True, True)
USE_UNVERIFIED = Belief(True, False)
IGNORE = Belief(False, False)


def verdict(event: dict) -> dict:
    found = event["payload"].get(TRUST_KEY)
    return found if isinstance(found, dict) else SERVER


def is_client(event: dict) -> bool:
    return verdict(event).get("level") == "client"


def _field(origin: str) -> str | None:
    if origin == "userId":
        return "userId"
    if origin.startswith("trait:"):
        return VERIFIABLE_TRAITS.get(origin.removeprefix("trait:"))
    return None


def identifier(event: dict, origin: str, kind_name: str) -> Belief:
    """May this identifier (from ``origin``: userId, anonymousId, previousId,
    trait:<key>, externalId) of this event link, and is it verified?"""
    found = verdict(event)
    if found.get("level") != "client":
        return USE_VERIFIED
    return client_identifier(found, origin, kind_name)


def client_identifier(found: dict, origin: str, kind_name: str) -> Belief:
    """``identifier`` for a client source's event whose verdict is ``found``."""
    if origin == "anonymousId":
        return USE_UNVERIFIED
    if origin == "previousId":
        return USE_UNVERIFIED if kind_name == "anonymous_id" else IGNORE
    if _field(origin) in (found.get("verified") or ()):
        return USE_VERIFIED
    return USE_UNVERIFIED if found.get("unverifiedLinks") else IGNORE


def trait_verified(event: dict, key: str) -> bool:
    """Whether the event's value of this trait is vouched for: every value of a server
    source; of a client source, only an e-mail or phone its signature covers."""
    found = verdict(event)
    if found.get("level") != "client":
        return True
    field = VERIFIABLE_TRAITS.get(key)
    return field is not None and field in (found.get("verified") or ())


def grants_need_a_verified_link(event: dict) -> bool:
    """A consent grant from this event must not reach a known customer: an unsigned call
    of a client source whose admin let unverified calls link."""
    found = verdict(event)
    return (
        found.get("level") == "client"
        and bool(found.get("unverifiedLinks"))
        and not found.get("verified")
    )
