"""People with known truth, written the way different systems write them: the records the
matcher's accuracy is measured on (bench/bench_matching.py) and its tests train on.

Each person is one truth (``person``); each of their records is how one source (the CRM,
the shop, the ERP) holds them, with the corruption real data has: typos, transposed
letters, nicknames, initials, day and month swapped, missing fields, an address they
moved from, a work e-mail beside a private one. People live in households (the same
surname and address, often one family e-mail or landline), and some are twins (the same
surname, address and date of birth): the cases a careless matcher merges.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, replace
from datetime import date, timedelta


def _words(text: str) -> list[str]:
    return text.split()


def _names(text: str) -> list[str]:
    return text.split(", ")


GIVEN = _words(
    "John William Robert Richard James Michael Thomas Joseph Charles Edward Henry Daniel "
    "Matthew Anthony Andrew Christopher David Steven Peter Benjamin Nicholas Timothy "
    "Patrick Elizabeth Margaret Katherine Jennifer Rebecca Susan Patricia Deborah Victoria "
    "Jessica Abigail Dorothy Barbara Caroline Jacqueline Kimberly Pamela Stephanie Theresa "
    "Anna Maria Sophie Emma Olivia Noah Liam Lucas Mila Julia Sara Eva Daan Sem Finn Lotte "
    "Noor Tess Fleur Bram Ruben Jesse Thijs Lars Milan Jasper Floor Isa Roos Saar Femke "
    "Iris Zoe"
)
NICKNAME_OF = {
    "John": "Jon",
    "William": "Bill",
    "Robert": "Bob",
    "Richard": "Rick",
    "James": "Jim",
    "Michael": "Mike",
    "Thomas": "Tom",
    "Joseph": "Joe",
    "Edward": "Ed",
    "Daniel": "Dan",
    "Elizabeth": "Liz",
    "Margaret": "Maggie",
    "Katherine": "Kate",
    "Jennifer": "Jenny",
    "Rebecca": "Becky",
    "Susan": "Sue",
    "Deborah": "Debbie",
    "Victoria": "Vicky",
    "Jessica": "Jess",
    "Abigail": "Abby",
}
SURNAMES = _names(
    "Smith, Jones, Brown, Taylor, Wilson, Davies, Evans, Thomas, Roberts, Walker, Wright, "
    "Thompson, White, Hughes, Edwards, Green, Hall, Wood, Harris, Lewis, Martin, Jackson, "
    "Clarke, Clark, Turner, Hill, Scott, Cooper, Morris, Ward, Moore, King, Watson, Baker, "
    "Harrison, Morgan, Patel, Young, Allen, Mitchell, James, Anderson, Phillips, Lee, Bell, "
    "Parker, Davis, de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, "
    "Visser, Smit, Meijer, de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, van "
    "Leeuwen, Dekker, Brouwer, de Wit, Dijkstra, Smits, de Graaf, van der Meer, Okonkwo, "
    "Nakamura, Kowalski, Rossi, Moreau, Dubois, Schneider, Fischer, Weber, Becker, "
    "Hoffmann, Lindqvist, Johansson, Novak, Horvat, Silva, Santos, Pereira, Garcia, "
    "Fernandez, Lopez, Gonzalez"
)
# The long tail: most people's surnames are not among the common ones above.
RARE_SURNAMES = [
    a + b
    for a in _words("Ander Bren Cal Dor Ek Fal Gar Hol Is Jor Kel Lind Mar Nor Ost Pel Quin Ros")
    for b in _words("berg sen strom wick ford ton man stad ley more dale by well hurst ridge")
]
MORE_GIVEN = _words(
    "Aaron Adam Adrian Aiden Albert Alice Amelia Amir Ana Andrea Angela Arthur Aurora Ava "
    "Beatrice Bella Boris Carla Carmen Chloe Clara Colin Cora Dana Dean Diego Dmitri Elena "
    "Eli Ella Elliot Emil Erik Esther Ethan Felix Frida Gabriel George Grace Greta Hana "
    "Hannah Hugo Ida Ines Ivan Jack Jade Jonas Josephine Karim Kevin Laura Leo Leon Lily "
    "Luca Lydia Maja Marco Marta Max Maya Mohammed Nadia Nina Oscar Paula Quinn Rafael Rosa "
    "Ryan Selma Simon Sofia Stella Tara Theo Tobias Ursula Vera Victor Wendy Yara Yusuf "
    "Zara"
)
STREETS = _words(
    "Oak Maple Elm Cedar Pine Birch Willow Church Mill Station High Park Victoria Queen "
    "King Bridge Market North South West East Chapel Spring Green Meadow River Hill School "
    "Kerk Dorp Molen Stations Linden Beuken Eiken Tulp Roos Nieuwe"
)
STREET_TYPES = [("Street", "St"), ("Road", "Rd"), ("Avenue", "Ave"), ("Lane", "Ln")]
CITIES = [
    ("Springfield", "US"),
    ("Riverside", "US"),
    ("Franklin", "US"),
    ("Greenville", "US"),
    ("Amsterdam", "NL"),
    ("Utrecht", "NL"),
    ("Leiden", "NL"),
    ("Bristol", "GB"),
    ("Leeds", "GB"),
    ("Lyon", "FR"),
]
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "ziggo.nl"]
SOURCES = ("crm", "shop", "erp")


@dataclass(frozen=True)
class Person:
    person: int
    first_name: str
    surname: str
    birth: date
    street: str
    number: str
    postcode: str
    city: str
    country: str
    phone: str
    email: str


@dataclass(frozen=True)
class Rates:
    """How often each corruption happens to a record (the defaults are this benchmark's
    claim about real data; change them to see where the matcher breaks)."""

    typo: float = 0.08
    transpose: float = 0.04
    nickname: float = 0.25
    initial: float = 0.05
    swapped_day_month: float = 0.05
    missing: float = 0.15
    moved: float = 0.1
    other_email: float = 0.3
    family_contact: float = 0.3
    twins: float = 0.03  # of the people living with another: about twice the birth rate


def people(count: int, *, seed: int = 7, rates: Rates = Rates()) -> list[Person]:
    """``count`` people in households of one to four."""
    rng = random.Random(seed)
    result: list[Person] = []
    while len(result) < count:
        head = _person(rng, len(result))
        result.append(head)
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            if len(result) >= count:
                break
            result.append(_relative(rng, head, len(result), rates))
    return result


def _person(rng: random.Random, index: int) -> Person:
    city, country = rng.choice(CITIES)
    given = rng.choice(GIVEN if rng.random() < 0.6 else MORE_GIVEN)
    surname = rng.choice(SURNAMES if rng.random() < 0.4 else RARE_SURNAMES)
    street, kind = rng.choice(STREETS), rng.choice(STREET_TYPES)[0]
    return Person(
        person=index,
        first_name=given,
        surname=surname,
        birth=date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65)),
        street=f"{street} {kind}",
        number=str(rng.randint(1, 250))
        + (rng.choice(string.ascii_uppercase[:4]) if rng.random() < 0.05 else ""),
        postcode=_postcode(rng, country),
        city=city,
        country=country,
        phone=_phone(rng, country),
        email=_email(rng, given, surname),
    )


def _relative(rng: random.Random, head: Person, index: int, rates: Rates) -> Person:
    """Someone in ``head``'s household: their surname and address, another given name; a
    twin shares the date of birth; a family contact shares the e-mail or the landline."""
    own = _person(rng, index)
    given = rng.choice([g for g in GIVEN + MORE_GIVEN if g[0] != head.first_name[0]])
    twin = rng.random() < rates.twins
    family = rng.random() < rates.family_contact
    return replace(
        own,
        first_name=given,
        surname=head.surname,
        street=head.street,
        number=head.number,
        postcode=head.postcode,
        city=head.city,
        country=head.country,
        birth=head.birth if twin else own.birth,
        email=head.email if family and rng.random() < 0.5 else _email(rng, given, head.surname),
        phone=head.phone if family else own.phone,
    )


def _email(rng: random.Random, given: str, surname: str) -> str:
    local = f"{given}.{surname}".lower().replace(" ", "")
    return f"{local}{rng.randint(1, 999)}@{rng.choice(DOMAINS)}"


def _postcode(rng: random.Random, country: str) -> str:
    if country == "NL":
        return f"{rng.randint(1000, 9999)} {_letters(rng, 2)}"
    if country == "GB":
        return f"LS{rng.randint(1, 29)} {rng.randint(1, 9)}{_letters(rng, 2)}"
    return f"{rng.randint(10000, 99999)}"


def _letters(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("ABDEFGHJLNPRSTUWXZ") for _ in range(count))


def _phone(rng: random.Random, country: str) -> str:
    if country == "NL":
        return f"+31 6 {rng.randint(10000000, 99999999)}"
    if country == "GB":
        return f"+44 7911 {rng.randint(100000, 999999)}"
    if country == "FR":
        return f"+33 6 {rng.randint(10000000, 99999999)}"
    return (
        f"+1 {rng.choice((212, 415, 617, 312))} {rng.randint(200, 999)} {rng.randint(0, 9999):04d}"
    )


def records(
    everyone: list[Person], *, seed: int = 11, rates: Rates = Rates(), per_person=(1, 1, 2, 2, 3)
) -> list[tuple[int, dict]]:
    """(person, traits) per record: each person held by one to three sources, each
    source writing them its own way."""
    return [
        (person, traits)
        for person, _, traits in sourced(everyone, seed=seed, rates=rates, per_person=per_person)
    ]


def sourced(
    everyone: list[Person], *, seed: int = 11, rates: Rates = Rates(), per_person=(1, 1, 2, 2, 3)
) -> list[tuple[int, str, dict]]:
    """(person, source, traits) per record."""
    rng = random.Random(seed)
    out = []
    for person in everyone:
        sources = rng.sample(SOURCES, min(rng.choice(per_person), len(SOURCES)))
        for source in sources:
            out.append((person.person, source, _written_by(rng, person, source, rates)))
    return out


def _written_by(rng: random.Random, p: Person, source: str, rates: Rates) -> dict:
    given = _given_as_written(rng, p.first_name, rates)
    surname = _typo(rng, p.surname, rates)
    street, number, postcode, city = p.street, p.number, p.postcode, p.city
    if rng.random() < rates.moved:  # a record from before they moved
        street, number = (
            f"{rng.choice(STREETS)} {rng.choice(STREET_TYPES)[0]}",
            str(rng.randint(1, 250)),
        )
        postcode, city = _postcode(rng, p.country), rng.choice(CITIES)[0]
    email = p.email
    if rng.random() < rates.other_email:  # their work address: one employer per person
        work = f"work{(p.person * 7919) % 400 + 1}.com"
        email = f"{p.first_name[0]}{p.surname.replace(' ', '')}@{work}".lower()
    traits = {
        "firstName": given,
        "lastName": surname,
        "birthday": _birth_as_written(rng, p.birth, source, rates),
        "address": {
            "street": _street_as_written(rng, street, number),
            "postalCode": postcode,
            "city": city,
            "country": p.country,
        },
        "phone": p.phone,
        "email": email.upper() if rng.random() < 0.05 else email,
    }
    return _with_missing(rng, traits, rates)


def _given_as_written(rng: random.Random, given: str, rates: Rates) -> str:
    roll = rng.random()
    if roll < rates.initial:
        return given[0] + "."
    if roll < rates.initial + rates.nickname and given in NICKNAME_OF:
        return NICKNAME_OF[given]
    return _typo(rng, given, rates)


def _typo(rng: random.Random, text: str, rates: Rates) -> str:
    if len(text) < 4:
        return text
    at = rng.randrange(1, len(text) - 1)
    roll = rng.random()
    if roll < rates.typo:
        return text[:at] + rng.choice(string.ascii_lowercase) + text[at + 1 :]
    if roll < rates.typo + rates.transpose:
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    return text


def _birth_as_written(rng: random.Random, birth: date, source: str, rates: Rates) -> str:
    if rng.random() < rates.swapped_day_month and birth.day <= 12:
        birth = date(birth.year, birth.day, birth.month)
    if source == "crm":
        return birth.isoformat()
    if source == "shop":
        return birth.strftime("%d/%m/%Y")
    return birth.strftime("%Y%m%d")


def _street_as_written(rng: random.Random, street: str, number: str) -> str:
    name, kind = street.rsplit(" ", 1)
    short = dict(STREET_TYPES).get(kind, kind)
    written = f"{name} {short if rng.random() < 0.5 else kind}"
    return f"{number} {written}" if rng.random() < 0.6 else f"{written} {number}"


def _with_missing(rng: random.Random, traits: dict, rates: Rates) -> dict:
    for key in ("birthday", "phone", "email"):
        if rng.random() < rates.missing:
            traits.pop(key)
    if rng.random() < rates.missing:
        traits.pop("address")
    return traits
