"""Who the simulated customers are, and how each system mangles what they type.

One ``Person`` is drawn from a random generator seeded with (seed, index) only, so
that person 4,711 is the same whatever N is and however the run is split.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from . import catalog

# Shares of each kind of customer; they decide which systems a person ever touches.
KINDS = ("browser", "online", "omni", "store", "b2b")
KIND_WEIGHTS = (26, 30, 24, 12, 8)
NULLS = ("NULL", "", "null", "N/A", " ")
# One in this many people signs up with the QA team's address (a real-life nuisance).
TEST_ADDRESS_EVERY = 997


@dataclass
class Person:
    index: int
    kind: str
    first_name: str
    last_name: str
    email: str  # the true address, lower-case; systems see variants of it
    phone: str  # the true number, E.164
    city: str
    state: str
    postal_code: str
    birthday: date
    web_ids: list[str]  # anonymous ids: first device, sometimes a second one
    app_device: str | None
    crm_id: str | None
    loyalty_card: str | None
    account_id: str | None
    company: str | None
    subscribed: bool
    interests: list[str] = field(default_factory=list)


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _phone(index: int, area: str) -> str:
    # A bijection of the index onto 8 million numbers: no two people share a phone.
    x = (index * 7919 + 12345) % 8_000_000
    return f"+1{area}{200 + x // 10_000:03d}{x % 10_000:04d}"


def make_person(*, seed: int, index: int) -> tuple[Person, random.Random]:
    """The person at ``index`` and the generator that drives the rest of their story."""
    rng = random.Random(f"trailhead:{seed}:{index}")
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
    city, state, zip_prefix, area = rng.choice(catalog.CITIES)
    local = rng.choice(
        (f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{first}_{last}")
    )
    # The index keeps addresses unique: two Emma Smiths must not share a mailbox.
    local = local.lower().replace(" ", "").replace("'", "") + str(index)
    email = f"{local}@{rng.choice(catalog.EMAIL_DOMAINS)}"
    web = kind != "store"
    web_ids = [new_uuid(rng)] if web else []
    if web and rng.random() < 0.25:
        web_ids.append(new_uuid(rng))
    has_app = kind in ("online", "omni") and rng.random() < 0.35
    buys_in_store = kind in ("omni", "store") or (kind == "online" and rng.random() < 0.1)
    has_account = kind in ("online", "omni", "b2b") or (kind == "browser" and rng.random() < 0.2)
    in_crm = has_account or buys_in_store or kind == "b2b"
    in_crm = in_crm and rng.random() < 0.88
    company = None
    if kind == "b2b":
        company = f"{rng.choice(catalog.COMPANY_WORDS)} {rng.choice(catalog.COMPANY_SUFFIXES)}"
    person = Person(
        index=index,
        kind=kind,
        first_name=first,
        last_name=last,
        email=email,
        phone=_phone(index, area),
        city=city,
        state=state,
        postal_code=f"{zip_prefix}{rng.randint(0, 99):02d}",
        birthday=date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55)),
        web_ids=web_ids,
        app_device=new_uuid(rng).upper() if has_app else None,
        crm_id=f"CRM-{rng.getrandbits(40):012X}" if in_crm else None,
        loyalty_card=f"LC{rng.randint(10**9, 10**10 - 1)}"
        if buys_in_store and rng.random() < 0.8
        else None,
        account_id=f"u_{rng.getrandbits(48):012x}" if has_account else None,
        company=company,
        subscribed=(in_crm or has_account) and rng.random() < 0.7,
        interests=rng.sample(catalog.INTERESTS, rng.randint(1, 3)),
    )
    return person, rng


# How systems mangle identifiers --------------------------------------------------------


def email_as_typed(person: Person, rng: random.Random, *, sloppy: float = 0.3) -> str:
    """The address as one system holds it: mostly clean, sometimes cased, padded or mistyped."""
    if person.index % TEST_ADDRESS_EVERY == 13 and rng.random() < 0.5:
        return rng.choice(("test@example.com", "TEST@example.com"))
    if rng.random() >= sloppy:
        return person.email
    local, domain = person.email.split("@")
    style = rng.randrange(6)
    if style == 0:
        return person.email.upper()
    if style == 1:
        return f"{local.title()}@{domain.title()}"
    if style == 2:
        return f" {person.email} "
    if style == 3:
        return f"{local}@{domain.upper()}"
    if style == 4 and domain in catalog.DOMAIN_TYPOS:
        return f"{local}@{catalog.DOMAIN_TYPOS[domain]}"
    return f"{local.capitalize()}@{domain}"


def phone_as_typed(person: Person, rng: random.Random) -> str:
    digits = person.phone[2:]
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    return rng.choice(
        (
            person.phone,
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"+1 {area} {exchange} {line}",
            f"1{digits}",
            digits,
        )
    )


def name_as_typed(name: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.06:
        return name.upper()
    if roll < 0.12:
        return name.lower()
    if roll < 0.16:
        return f" {name}  "
    return name


def birthday_as_typed(person: Person, rng: random.Random) -> str:
    day = person.birthday
    return rng.choice(
        (
            day.isoformat(),
            day.isoformat(),
            f"{day.month:02d}/{day.day:02d}/{day.year}",
            f"{day.day}.{day.month}.{day.year}",
            rng.choice(NULLS),
        )
    )


def maybe_null(value: str, rng: random.Random, *, rate: float = 0.08) -> str:
    """Missing values as exports write them: "NULL", "", "N/A" rather than absent."""
    return rng.choice(NULLS) if rng.random() < rate else value
