"""Data for the segments benchmark, written with COPY straight into the profiles tables.

Profiles (active, realistic traits: country with ~10% NL in mixed case, city, age,
e-mail), one user_id Identity each (``sb-0000042``) so that the pipeline finds them, and
ProfileEvents over the last 90 days in time order (as they arrive), each on a profile
drawn by a skewed activity weight (log-normal: a few heavy users, many light ones).

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
# (weight in %, type, name, properties kind)
EVENT_MIX = [
    (40, "track", "Product Viewed", "product"),
    (8, "page", "Home", "page"),
    (8, "page", "Category", "page"),
    (5, "page", "Search Results", "page"),
    (4, "page", "Cart", "page"),
    (8, "track", "Products Searched", "search"),
    (10, "track", "Product Added", "product"),
    (2, "track", "Product Removed", "product"),
    (5, "track", "Checkout Started", "checkout"),
    (3, "track", "Order Completed", "order"),
    (4, "track", "Email Opened", "email"),
    (3, "track", "Signed In", "none"),
]
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


def _cumulative(weights):
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _property_pools(rng: random.Random) -> dict[str, list[str]]:
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
    pages = [
        json.dumps({"path": f"/c/{c.lower()}", "title": c}) for c in CATEGORIES for _ in range(3)
    ]
    searches = [json.dumps({"query": f"{c.lower()} {w}"}) for c in CATEGORIES for w in "abcde"]
    emails = [json.dumps({"campaign": f"newsletter-{n}"}) for n in range(40)]
    return {"product": products, "page": pages, "search": searches, "email": emails}


def _profile_rows(offset: int, first: int, first_identity: int, kind_id: int, count: int, rng, now):
    """Rows of profiles ``offset`` .. ``offset + count`` (ids from ``first``)."""
    country_cum = _cumulative(w for w, _, _ in COUNTRIES)
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
    'type, name, "timestamp", properties) FROM STDIN'
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
        cursor.execute("SELECT nextval('profiles_profile_id_seq')")
        first = cursor.fetchone()[0]
        cursor.execute("SELECT nextval('profiles_identity_id_seq')")
        first_identity = cursor.fetchone()[0]
        cursor.execute(
            "SELECT setval('profiles_profile_id_seq', %s), setval('profiles_identity_id_seq', %s)",
            [first + profiles, first_identity + profiles],
        )
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


def _copy_events(raw, rng, *, first, first_identity, profiles, events, source_id, now):
    activity = _cumulative(rng.lognormvariate(0, 1.3) for _ in range(profiles))
    mix_cum = _cumulative(w for w, *_ in EVENT_MIX)
    pools = _property_pools(rng)
    start = (now - timedelta(days=DAYS)).timestamp()
    step = DAYS * 86400 / max(events, 1)
    offsets = range(profiles)
    fromts = datetime.fromtimestamp
    for chunk_start in range(0, events, COPY_CHUNK):
        n = min(COPY_CHUNK, events - chunk_start)
        who = rng.choices(offsets, cum_weights=activity, k=n)
        what = rng.choices(EVENT_MIX, cum_weights=mix_cum, k=n)
        lines = []
        for j in range(n):
            k = chunk_start + j
            _, type_, name, kind = what[j]
            if kind in pools:
                pool = pools[kind]
                props = pool[int(len(pool) * rng.random() ** 2)]  # popular items first
            elif kind == "order":
                props = (
                    f'{{"order_id": "O-{k}", "revenue": {rng.uniform(20, 600):.2f}, '
                    f'"currency": "EUR"}}'
                )
            elif kind == "checkout":
                props = f'{{"value": {rng.uniform(20, 600):.2f}, "items": {rng.randint(1, 6)}}}'
            else:
                props = "{}"
            ts = fromts(start + (k + rng.random()) * step, UTC).isoformat()
            p = who[j]
            lines.append(
                f"{FIRST_EVENT_ID + k}\t{ts}\t{first + p}\t{first_identity + p}\t{source_id}\t"
                f"{type_}\t{name}\t{ts}\t{props}\n"
            )
        with raw.copy(EVENT_COPY) as copy:
            copy.write("".join(lines))
        progress(chunk_start + n, events, "COPY events  ")
