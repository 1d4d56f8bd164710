"""Rows of the two files from outside the company: a partner's and a data provider's.

Second party: Peak Pass, a ski-and-trail pass partner sharing its opted-in members.
Third party: a data broker's demographic and firmographic append, keyed by e-mail.
Both hold the same people the shop knows, typed their own way.
"""

from __future__ import annotations

import random

from . import catalog
from .people import Person, email_as_typed, maybe_null, name_as_typed, phone_as_typed

PARTNER_COLUMNS = (
    "member_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "postal_code",
    "household_size",
    "interests",
    "pass_type",
    "member_since",
)
PROVIDER_COLUMNS = (
    "record_id",
    "email",
    "first_name",
    "last_name",
    "age_range",
    "income_band",
    "homeowner",
    "marital_status",
    "children_in_household",
    "company_name",
    "industry",
    "company_size",
    "job_title",
)
AGE_BANDS = ((65, "65+"), (55, "55-64"), (45, "45-54"), (35, "35-44"), (25, "25-34"), (18, "18-24"))


def partner_row(person: Person, rng: random.Random) -> dict | None:
    # Drawn for everyone so that the draws after it do not depend on who is a member.
    member = rng.random() < (0.25 if {"skiing", "hiking"} & set(person.interests) else 0.08)
    row = {
        "member_id": f"PP{rng.randint(10**7, 10**8 - 1)}",
        "email": email_as_typed(person, rng, sloppy=0.4),
        "phone": maybe_null(phone_as_typed(person, rng), rng, rate=0.3),
        "first_name": name_as_typed(person.first_name, rng),
        "last_name": name_as_typed(person.last_name, rng),
        "postal_code": maybe_null(person.postal_code, rng),
        "household_size": str(rng.randint(1, 5)),
        "interests": ";".join(person.interests),
        "pass_type": rng.choice(("Day", "Season", "Family season")),
        "member_since": str(rng.randint(2012, 2024)),
    }
    return row if member else None


def _age_range(person: Person, year: int) -> str:
    age = year - person.birthday.year
    return next((label for low, label in AGE_BANDS if age >= low), "under 18")


def provider_row(person: Person, rng: random.Random, *, year: int) -> dict | None:
    matched = rng.random() < 0.3
    email = email_as_typed(person, rng, sloppy=0.2)
    b2b = person.kind == "b2b"
    row = {
        "record_id": f"DP-{rng.getrandbits(40):010x}",
        # The broker ships upper-case addresses half of the time: its own convention.
        "email": email.upper() if rng.random() < 0.5 else email,
        "first_name": person.first_name.upper(),
        "last_name": person.last_name.upper(),
        "age_range": _age_range(person, year),
        "income_band": rng.choice(("<50k", "50-75k", "75-100k", "100-150k", "150k+", "NULL")),
        "homeowner": rng.choice(("Y", "N", "", "U")),
        "marital_status": rng.choice(("M", "S", "", "NULL")),
        "children_in_household": rng.choice(("0", "1", "2", "3+", "")),
        "company_name": person.company or "",
        "industry": rng.choice(catalog.INDUSTRIES) if b2b or rng.random() < 0.4 else "",
        "company_size": rng.choice(("1-10", "11-50", "51-200", "201-1000", "1000+")) if b2b else "",
        "job_title": rng.choice(catalog.JOB_TITLES) if rng.random() < 0.6 else "NULL",
    }
    return row if matched else None
