"""Values in the one form the matcher compares: names, dates of birth, addresses, phones
and e-mail addresses, as the CRM, the shop and the ERP each write them differently.

Pure functions, no Django: the export to the matcher calls them once per profile, and the
accuracy benchmark's generator calls the same ones, so that what is measured is what runs.
A value that cannot be read becomes None (a missing field for the model, which Splink
treats as "no evidence"), never a guess: a wrong date of birth is worse than none.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from cdp_site.contact_points import normalize_email, normalize_phone

from .nicknames import NICKNAMES

_NOT_A_LETTER = re.compile(r"[^\w\s'-]+")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")


def fold(raw) -> str:
    """Lower-cased, accents removed (``Zoë Müller`` → ``zoe muller``), runs of spaces made
    one. Letters of other scripts are kept (lower-cased where they have a case): folding
    ``Ольга`` to nothing would make every Cyrillic name match every other."""
    text = unicodedata.normalize("NFKD", str(raw or "")).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("ß", "ss").replace("ø", "o").replace("ł", "l").replace("đ", "d")
    return _SPACES.sub(" ", text).strip()


def name(raw) -> str | None:
    """A given name or surname: folded, punctuation dropped (``O'Brien`` keeps its
    apostrophe out: ``obrien``), a nickname mapped to its usual full form
    (``Jon``/``Johnny`` → ``john``). None when nothing is left."""
    text = _NOT_A_LETTER.sub(" ", fold(raw)).replace("'", "")
    text = _SPACES.sub(" ", text.replace("-", " ")).strip()
    if not text or text.isdigit():
        return None
    return NICKNAMES.get(text, text)


def initial(raw) -> str | None:
    """The first letter of a standardised name (``J.`` and ``John`` share it)."""
    standard = name(raw)
    return standard[0] if standard else None


# -- dates of birth ---------------------------------------------------------------------

# Dates that systems write when they do not know one: they are not evidence.
PLACEHOLDER_DATES = frozenset({date(1900, 1, 1), date(1901, 1, 1), date(1970, 1, 1)})
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january", "januari", "janvier", "januar"),
            ("feb", "february", "februari", "fevrier", "februar"),
            ("mar", "march", "maart", "mars", "marz"),
            ("apr", "april", "avril"),
            ("may", "mei", "mai"),
            ("jun", "june", "juni", "juin"),
            ("jul", "july", "juli", "juillet"),
            ("aug", "august", "augustus", "aout"),
            ("sep", "sept", "september", "septembre"),
            ("oct", "october", "oktober", "octobre", "okt"),
            ("nov", "november", "novembre"),
            ("dec", "december", "decembre", "dezember", "dez"),
        ]
    )
    for m in names
}
_YEAR_FIRST = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[t\s].*)?$")
_YEAR_LAST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def birth_date(raw, *, day_first: bool = True, today: date | None = None) -> str | None:
    """ISO ``YYYY-MM-DD`` from the common ways of writing a date of birth: ISO (with or
    without a time), ``19840302``, ``02/03/1984`` (read day first unless ``day_first`` is
    False: a model's setting, since the CRM of one company writes US dates), and with the
    month's name (``2 March 1984``, ``Mar 2, 1984``). None for what is not a real date
    (``31/02/1984``), a placeholder (``1900-01-01``), a future date or one more than 120
    years ago."""
    parsed = _parse_date(raw, day_first=day_first)
    if parsed is None or parsed in PLACEHOLDER_DATES:
        return None
    today = today or date.today()
    if parsed > today or parsed.year < today.year - 120:
        return None
    return parsed.isoformat()


def _parse_date(raw, *, day_first: bool) -> date | None:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = fold(raw).replace(",", " ")
    text = _SPACES.sub(" ", text).strip()
    for pattern, order in (
        (_YEAR_FIRST, "ymd"),
        (_COMPACT, "ymd"),
        (_YEAR_LAST, "dmy" if day_first else "mdy"),
    ):
        match = pattern.match(text)
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            return _date(parts["y"], parts["m"], parts["d"])
    return _date_with_month_name(text)


def _date_with_month_name(text: str) -> date | None:
    words = text.replace(".", " ").split()
    months = [_MONTHS[w] for w in words if w in _MONTHS]
    numbers = [int(w.rstrip("stndrh")) for w in words if w.rstrip("stndrh").isdigit()]
    years = [n for n in numbers if n > 31]
    days = [n for n in numbers if n <= 31]
    if len(months) == 1 and len(years) == 1 and len(days) == 1:
        return _date(years[0], months[0], days[0])
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 31 February, month 13
        return None


# -- addresses ----------------------------------------------------------------------------

# Street-type words as written in full and abbreviated, to one form (English, Dutch,
# German and French addresses are the demo company's and the common case).
STREET_WORDS = {
    "street": "st",
    "str": "st",
    "st": "st",
    "road": "rd",
    "rd": "rd",
    "avenue": "ave",
    "av": "ave",
    "ave": "ave",
    "boulevard": "blvd",
    "blvd": "blvd",
    "lane": "ln",
    "ln": "ln",
    "drive": "dr",
    "dr": "dr",
    "court": "ct",
    "ct": "ct",
    "place": "pl",
    "pl": "pl",
    "square": "sq",
    "sq": "sq",
    "strasse": "str",
    "straße": "str",
    "rue": "rue",
}
_HOUSE_NUMBER = re.compile(r"\b(\d+)\s*([a-z]?)\b")


def street(raw) -> str | None:
    """The street without its house number, its type word in one form
    (``12 Oak Street`` and ``Oak St. 12`` → ``oak st``; ``Hauptstraße`` → ``hauptstr``)."""
    text = fold(raw).replace("straße", "strasse")
    text = re.sub(r"(\w)strasse\b", r"\1str", text)
    text = _NOT_A_LETTER.sub(" ", text)
    words = [w for w in text.replace("-", " ").split() if not _DIGITS.fullmatch(w)]
    words = [w for w in words if not re.fullmatch(r"\d+[a-z]?", w)]
    words = [STREET_WORDS.get(w, w) for w in words]
    return " ".join(words) or None


def house_number(raw) -> str | None:
    """The house number with its letter (``12a``), from a street line or a field of its
    own; None when there is none."""
    match = _HOUSE_NUMBER.search(fold(raw))
    return (match.group(1) + match.group(2)) if match else None


def postcode(raw) -> str | None:
    """Upper-cased with no spaces or dashes (``1012 ab`` → ``1012AB``)."""
    text = re.sub(r"[^0-9A-Za-z]", "", str(raw or "")).upper()
    return text or None


def city(raw) -> str | None:
    text = _NOT_A_LETTER.sub(" ", fold(raw))
    text = _SPACES.sub(" ", text.replace("-", " ")).strip()
    return text or None


COUNTRIES = {
    "nl": "NL",
    "nld": "NL",
    "netherlands": "NL",
    "the netherlands": "NL",
    "holland": "NL",
    "nederland": "NL",
    "de": "DE",
    "deu": "DE",
    "germany": "DE",
    "deutschland": "DE",
    "fr": "FR",
    "fra": "FR",
    "france": "FR",
    "be": "BE",
    "bel": "BE",
    "belgium": "BE",
    "belgie": "BE",
    "gb": "GB",
    "uk": "GB",
    "gbr": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "england": "GB",
    "us": "US",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "es": "ES",
    "esp": "ES",
    "spain": "ES",
    "espana": "ES",
    "it": "IT",
    "ita": "IT",
    "italy": "IT",
    "italia": "IT",
}


def country(raw) -> str | None:
    """An ISO 3166 alpha-2 code from a code or a common name; None when unknown (an
    unknown country is left out, not compared as text)."""
    text = _SPACES.sub(" ", _NOT_A_LETTER.sub(" ", fold(raw).replace(".", ""))).strip()
    if not text:
        return None
    return COUNTRIES.get(text)


# -- phones and e-mail --------------------------------------------------------------------


def phone(raw, *, region: str = "US") -> str | None:
    """E.164, a national number read as ``region``'s (the source's or the model's)."""
    text = str(raw or "").strip()
    return normalize_phone(text, region) if text else None


def email_parts(raw) -> tuple[str | None, str | None]:
    """(local part, domain) of an address, the local part without a ``+tag``: the two are
    compared apart, since a shared family domain says little and a shared local part at
    another domain says a lot."""
    address = normalize_email(raw)
    if not address:
        return None, None
    local, _, domain = address.rpartition("@")
    return local.split("+", 1)[0] or None, domain
