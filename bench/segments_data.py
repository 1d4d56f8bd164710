"""Data for the segments and insights benchmarks, written with COPY straight into the
profiles tables.

Profiles (active, realistic traits: country with ~10% NL in mixed case, city, age,
e-mail), one user_id Identity each (``sb-0000042``) so that the pipeline finds them, and
ProfileEvents over the last 90 days in time order (as they arrive), as visits: each on a
profile drawn by a skewed activity weight (log-normal: a few heavy users, many light
ones), a burst of events minutes apart (a landing page, product views between category
pages and searches, sometimes a basket, a checkout and an order with ``revenue`` and
``currency``), or a newsletter opened and sometimes clicked. Page views keep their page
and, on a visit's landing page, its UTM campaign in ``context`` (the shape of
profiles/touches.py): a profile's first visit comes through its own channel (google /
cpc, newsletter / email, facebook / social, or direct), later ones half the time directly;
checkouts from facebook convert least, from the newsletter most. Stage changes over the
90 days come from replaying these events (bench_insights runs backfill_stage_history).

The event table's secondary indexes are dropped during the load and built again after
it (same definitions), foreign-key triggers are off for the loading session only (the
rows are consistent by construction), then VACUUM ANALYZE: an older table's state.
Event ids start at 5 * 10^12 so that they never meet the pipeline's.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

from bench.common import progress
from integrations import services as collect
from profiles.models import IdentifierKind

SEED = 11
FIRST_EVENT_ID = 5_000_000_000_000
COPY_CHUNK = 100_000
DAYS = 90
USER_PREFIX = "sb-"

# fmt: off
# (weight in %, code as stored, cities): NL in several spellings of its case.
COUNTRIES = [
    (6.5, "NL", ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven"]),
    (2.5, "nl", ["Groningen", "Tilburg", "Almere"]),
    (1.0, "Nl", ["Breda", "Nijmegen"]),
    (15, "DE", ["Berlin", "Hamburg", "Munich", "Cologne"]),
    (8, "BE", ["Brussels", "Antwerp", "Ghent"]),
    (10, "FR", ["Paris", "Lyon", "Marseille"]),
    (12, "GB", ["London", "Manchester", "Leeds"]),
    (15, "US", ["New York", "Chicago", "Austin", "Seattle"]),
    (6, "ES", ["Madrid", "Barcelona"]),
    (6, "IT", ["Rome", "Milan"]),
    (4, "SE", ["Stockholm", "Malmo"]),
    (4, "PL", ["Warsaw", "Krakow"]),
    (2, "de", ["Dresden"]),
    (3, "DK", ["Copenhagen"]),
    (5, None, [None]),  # no country known
]
FIRST = ["Ann", "Bo", "Carla", "Dev", "Emil", "Fatima", "Gus", "Hana", "Ivo", "Jana", "Karl",
         "Lena", "Mo", "Nora", "Olaf", "Pia", "Quinn", "Rosa", "Sven", "Tess"]
LAST = ["Berg", "Cruz", "Dahl", "Engel", "Fox", "Gray", "Holm", "Ito", "Jensen", "Klein",
        "Lund", "Moreau", "Novak", "Olsen", "Park", "Quist", "Rossi", "Stone", "Toft", "Vik"]
STAGES = ["orientation", "consideration", "acquisition", "retention", "lapsed", ""]
# How a visit started: (weight in %, the landing page's UTM campaign or None for a direct
# visit, referrer, share of checkouts that become orders). A visitor's first visit comes
# through their own channel, later ones half the time directly.
CHANNELS = [
    (28, {"source": "google", "medium": "cpc", "name": "brand-search"}, "https://www.google.com/",
     0.60),
    (10, {"source": "google", "medium": "cpc", "name": "generic-shoes"}, "https://www.google.com/",
     0.50),
    (14, {"source": "newsletter", "medium": "email", "name": "weekly-digest"}, "", 0.75),
    (16, {"source": "facebook", "medium": "social", "name": "autumn-looks"},
     "https://www.facebook.com/", 0.40),
    (32, None, "", 0.60),
]
NEWSLETTER = 2  # the channel of a click in an opened newsletter
HOST = "https://shop.example"
CURRENCIES = ["EUR"] * 17 + ["GBP", "GBP", "USD"]
CATEGORIES = ["Jackets", "Shoes", "Shirts", "Trousers", "Bags", "Hats", "Socks", "Dresses",
              "Knitwear", "Accessories"]
# fmt: on


@dataclass
class Loaded:
    first_profile: int
    profiles: int
    events: int
    user_kind_id: int
    source_id: int
    now: datetime  # events are all before this moment
    seconds: float


def user_value(i: int) -> str:
    return f"{USER_PREFIX}{i:07d}"


def cumulative(weights):
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def property_pools(rng: random.Random) -> dict[str, list[str]]:
    products = []
    for n in range(5000):
        products.append(
            json.dumps(
                {
                    "product_id": f"P-{n:05d}",
                    "category": CATEGORIES[n % len(CATEGORIES)],
                    "price": round(rng.uniform(5, 400), 2),
                }
            )
        )
    searches = [json.dumps({"query": f"{c.lower()} {w}"}) for c in CATEGORIES for w in "abcde"]
    emails = [json.dumps({"campaign": f"newsletter-{n}"}) for n in range(40)]
    return {"product": products, "search": searches, "email": emails}


def _pages() -> dict[str, list[tuple[str, str]]]:
    """Per page event name, its (properties, context) as stored: each page in a version
    per channel (the landing page of a visit, with its campaign and referrer) and one
    for a click from another page of the shop (channel -1)."""
    paths = {
        "Home": [("/", "Home")],
        "Category": [(f"/c/{c.lower()}", c) for c in CATEGORIES],
        "Search Results": [("/search", "Search results")],
        "Cart": [("/cart", "Cart")],
    }
    found = {}
    for name, pages in paths.items():
        for path, title in pages:
            props = json.dumps({"path": path, "title": title})
            for channel in range(-1, len(CHANNELS)):
                _, campaign, referrer, _ = CHANNELS[channel] if channel >= 0 else (0, None, "", 0)
                url = HOST + path
                if campaign:
                    url += f"?utm_source={campaign['source']}&utm_medium={campaign['medium']}"
                page = {"path": path, "url": url, "title": title}
                page["referrer"] = referrer if channel >= 0 else HOST + "/"
                if not page["referrer"]:
                    del page["referrer"]
                context = {"campaign": campaign, "page": page} if campaign else {"page": page}
                found.setdefault((name, channel), []).append((props, json.dumps(context)))
    return found


def _profile_rows(offset: int, first: int, first_identity: int, kind_id: int, count: int, rng, now):
    """Rows of profiles ``offset`` .. ``offset + count`` (ids from ``first``)."""
    country_cum = cumulative(w for w, _, _ in COUNTRIES)
    stamp = now.isoformat()
    profiles, identities = [], []
    for i in range(offset, offset + count):
        pid = first + i
        _, country, cities = rng.choices(COUNTRIES, cum_weights=country_cum)[0]
        first_name, last_name = FIRST[rng.randrange(20)], LAST[rng.randrange(20)]
        traits = {
            "firstName": first_name,
            "lastName": last_name,
            "email": f"{first_name.lower()}.{i}@mail{i % 53}.example",
        }
        if country is not None:
            traits["country"] = country
            traits["city"] = cities[rng.randrange(len(cities))]
        if rng.random() < 0.93:
            traits["age"] = rng.randint(18, 80)
        seen = (now - timedelta(days=rng.uniform(0, 400))).isoformat()
        profiles.append(
            f"{pid}\t{first_name} {last_name}\t{STAGES[rng.randrange(6)]}\t"
            f"{json.dumps(traits)}\t{{}}\t{{}}\t{seen}\t{stamp}\t{seen}\t{stamp}\n"
        )
        identities.append(
            f"{first_identity + i}\t{kind_id}\t{user_value(i)}\t{pid}\t{seen}\t{stamp}\t{seen}\n"
        )
    return profiles, identities


def reserve_ids(cursor, profiles: int) -> tuple[int, int]:
    """The first of ``profiles`` profile ids and as many identity ids, taken from their
    sequences so the pipeline never hands them out again."""
    cursor.execute("SELECT nextval('profiles_profile_id_seq')")
    first = cursor.fetchone()[0]
    cursor.execute("SELECT nextval('profiles_identity_id_seq')")
    first_identity = cursor.fetchone()[0]
    cursor.execute(
        "SELECT setval('profiles_profile_id_seq', %s), setval('profiles_identity_id_seq', %s)",
        [first + profiles, first_identity + profiles],
    )
    return first, first_identity


PROFILE_COPY = (
    "COPY profiles_profile (id, display_name, stage, traits, computed, consent, "
    "first_seen_at, last_seen_at, created_at, updated_at) FROM STDIN"
)
IDENTITY_COPY = (
    "COPY profiles_identity (id, kind_id, value, profile_id, first_seen_at, last_seen_at, "
    "created_at) FROM STDIN"
)
EVENT_COPY = (
    "COPY profiles_profileevent (event_id, received_at, profile_id, identity_id, source_id, "
    'type, name, "timestamp", properties, context) FROM STDIN'
)


def load(*, profiles: int, events: int) -> Loaded:
    started = time.perf_counter()
    rng = random.Random(SEED)
    # The shop's backend: a server source's user ids link to known customers (an
    # unsigned website call's would not; see profiles/trust.py).
    source = collect.create_source(name="Segments bench shop", kind="server")
    kind_id = IdentifierKind.objects.get(name="user_id").id
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    with connection.cursor() as cursor:
        first, first_identity = reserve_ids(cursor, profiles)
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET session_replication_role = replica")  # no FK triggers
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'profiles_profileevent' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        for offset in range(0, profiles, COPY_CHUNK):
            n = min(COPY_CHUNK, profiles - offset)
            rows, ids = _profile_rows(offset, first, first_identity, kind_id, n, rng, now)
            with raw.copy(PROFILE_COPY) as copy:
                copy.write("".join(rows))
            with raw.copy(IDENTITY_COPY) as copy:
                copy.write("".join(ids))
            progress(offset + n, profiles, "COPY profiles")
        _copy_events(
            raw,
            rng,
            first=first,
            first_identity=first_identity,
            profiles=profiles,
            events=events,
            source_id=source.id,
            now=now,
        )
        print(f"  loaded in {time.perf_counter() - started:.1f}s; indexes …", flush=True)
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SET session_replication_role = DEFAULT")
        for table in ("profiles_profile", "profiles_identity", "profiles_profileevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    seconds = time.perf_counter() - started
    print(f"  data ready in {seconds:.1f}s", flush=True)
    return Loaded(first, profiles, events, kind_id, source.id, now, seconds)


class Visits:
    """Events as visits: bursts of a few minutes on one profile (a landing page, product
    views with category pages and searches between them, sometimes a basket, a checkout
    and an order), or a newsletter opened, a third of them clicked into a visit."""

    def __init__(self, rng: random.Random, pools: dict, profiles: int):
        self.rng, self.pools, self.pages = rng, pools, _pages()
        self.channel_cum = cumulative(w for w, *_ in CHANNELS)
        # Each profile's own channel, that of its first visit; -1 once it has visited.
        self.first = bytearray(
            rng.choices(range(len(CHANNELS)), cum_weights=self.channel_cum, k=profiles)
        )
        self.orders = 0

    def _pick(self, kind: str) -> str:
        pool = self.pools[kind]
        return pool[int(len(pool) * self.rng.random() ** 2)]  # popular items first

    def _page(self, name: str, channel: int) -> tuple:
        props, context = self.rng.choice(self.pages[name, channel])
        return ("page", name, props, context)

    def visit(self, profile: int) -> list[tuple]:
        """(type, name, properties, context or None) of one visit, in order."""
        rng = self.rng
        if rng.random() < 0.08:
            opened = [("track", "Email Opened", self._pick("email"), None)]
            return opened + (self._web(NEWSLETTER) if rng.random() < 0.35 else [])
        channel = self.first[profile]
        if channel != 255:
            self.first[profile] = 255
        elif rng.random() < 0.5:
            channel = len(CHANNELS) - 1  # direct
        else:
            channel = rng.choices(range(len(CHANNELS)), cum_weights=self.channel_cum)[0]
        return self._web(channel)

    def _web(self, channel: int) -> list[tuple]:
        rng = self.rng
        events = [self._page("Home" if rng.random() < 0.45 else "Category", channel)]
        if rng.random() < 0.2:
            events.append(("track", "Signed In", "{}", None))
        product = "{}"
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.35:
                events.append(self._page("Category", -1))
            if rng.random() < 0.15:
                events.append(("track", "Products Searched", self._pick("search"), None))
                events.append(self._page("Search Results", -1))
            product = self._pick("product")
            events.append(("track", "Product Viewed", product, None))
        if rng.random() < 0.4:
            events += [("track", "Product Added", product, None)] * rng.randint(1, 2)
            if rng.random() < 0.15:
                events.append(("track", "Product Removed", product, None))
            if rng.random() < 0.55:
                events += self._checkout(CHANNELS[channel][3])
        return events

    def _checkout(self, converts: float) -> list[tuple]:
        rng = self.rng
        value = f"{rng.uniform(20, 600):.2f}"
        events = [
            self._page("Cart", -1),
            (
                "track",
                "Checkout Started",
                f'{{"value": {value}, "items": {rng.randint(1, 6)}}}',
                None,
            ),
        ]
        if rng.random() < converts:
            self.orders += 1
            currency = CURRENCIES[rng.randrange(len(CURRENCIES))]
            props = (
                f'{{"order_id": "O-{self.orders}", "revenue": {value}, "currency": "{currency}"}}'
            )
            events.append(("track", "Order Completed", props, None))
        return events


def _copy_events(raw, rng, *, first, first_identity, profiles, events, source_id, now):
    """Visits in the order they start, spread evenly over the DAYS (time moves on with
    the events written), each visit's events 10 s to 3 min apart."""
    activity = cumulative(rng.lognormvariate(0, 1.3) for _ in range(profiles))
    visits = Visits(rng, property_pools(rng), profiles)
    start = (now - timedelta(days=DAYS)).timestamp()
    step = DAYS * 86400 / max(events, 1)
    offsets = range(profiles)
    fromts = datetime.fromtimestamp
    k, lines, who = 0, [], []
    while k < events:
        if not who:
            who = rng.choices(offsets, cum_weights=activity, k=10_000)
        p = who.pop()
        at = start + k * step
        for type_, name, props, context in visits.visit(p)[: events - k]:
            at += rng.uniform(10, 180)
            ts = fromts(min(at, start + DAYS * 86400), UTC).isoformat()
            lines.append(
                f"{FIRST_EVENT_ID + k}\t{ts}\t{first + p}\t{first_identity + p}\t{source_id}\t"
                f"{type_}\t{name}\t{ts}\t{props}\t{context or NULL}\n"
            )
            k += 1
        if len(lines) >= COPY_CHUNK or k >= events:
            with raw.copy(EVENT_COPY) as copy:
                copy.write("".join(lines))
            lines = []
            progress(k, events, "COPY events  ")


NULL = "\\N"
