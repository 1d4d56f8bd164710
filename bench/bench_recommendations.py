"""Recommendations (issue 18): how good they are offline, and how long a whole run takes.

Data (seeded, written with COPY): CDP_BENCH_REC_CUSTOMERS (50,000) customers and
CDP_BENCH_REC_PRODUCTS (2,000) products in categories of 100, 5 % out of stock. Each
customer has a favourite category and 1 to 5 orders of 1 to 4 products: a seed from their
category (or, one time in four, from anywhere), by a popularity that falls with the rank,
and often one of the seed's three companions (a tent's poles, a stove's fuel); a next
order often brings a companion of something bought before. Each views 0 to 4 products of
their category in the last 30 days.

Quality: every customer's last order is held out (not written); after a whole run, for up
to CDP_BENCH_REC_EVAL (5,000) customers with two orders or more, a hit at 5 is one of the
first five products recommendations_for(...) answers being in the held-out order (among
its products offered and not bought before). Baseline: the five products bought by the
most people, less what the customer bought (popularity), on the same customers.

Speed: the whole run (campaigns.recommendations.services.recompute_all: item tables and
every person's lists, one transaction), next to one pass reading every order's products
(the least any run must do); and one person's recomputation after an order (p50/p99),
next to reading their recommendations. Target: 1,000,000 customers and 10,000 products in
<= 10 minutes.
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from bench.common import Row, latency_rows, progress
from campaigns.recommendations import selectors, services
from integrations import services as collect
from integrations.catalog.services import upsert_products
from profiles import defaults
from profiles.models import IdentifierKind, Identity, Profile

CUSTOMERS = int(os.environ.get("CDP_BENCH_REC_CUSTOMERS", "50000"))
PRODUCTS = int(os.environ.get("CDP_BENCH_REC_PRODUCTS", "2000"))
EVALUATED = int(os.environ.get("CDP_BENCH_REC_EVAL", "5000"))
PERSONAL_RUNS = int(os.environ.get("CDP_BENCH_REC_PERSONAL", "200"))
SEED = 18
CATEGORY_SIZE = 100
OUT_OF_STOCK = 0.05
CHUNK = 100_000
AT_5 = 5

EVENT_COPY = (
    "COPY profiles_profileevent (event_id, received_at, profile_id, identity_id, source_id, "
    'type, name, "timestamp", properties) FROM STDIN'
)
PROFILES_SQL = """
INSERT INTO profiles_profile (display_name, stage, traits, computed, consent, email_confirmed,
                              restricted, created_at, updated_at)
SELECT 'Bench ' || g, '', '{}', '{}', '{}', true, false, now(), now()
FROM generate_series(1, %s) AS g
"""
READ_ORDERS = """
SELECT count(*) FROM profiles_profileevent e
CROSS JOIN LATERAL jsonb_array_elements(e.properties -> 'products') AS item
WHERE e.name = 'Order Completed' AND item ->> 'sku' IS NOT NULL
"""


class World:
    """Products, categories, companions and popularity: plain lists, seeded."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.skus = [f"P{i:06d}" for i in range(PRODUCTS)]
        categories = max(1, PRODUCTS // CATEGORY_SIZE)
        self.category = [i % categories for i in range(PRODUCTS)]
        self.members = [
            [i for i in range(PRODUCTS) if i % categories == c] for c in range(categories)
        ]
        # Popularity within a category falls with the rank (a long tail).
        self.weights = [self._cumulative(len(m)) for m in self.members]
        self.everything = self._cumulative(PRODUCTS)
        self.companions = [
            rng.sample(self.members[self.category[i]], min(3, len(self.members[self.category[i]])))
            for i in range(PRODUCTS)
        ]
        self.in_stock = [rng.random() >= OUT_OF_STOCK for _ in range(PRODUCTS)]

    @staticmethod
    def _cumulative(n: int) -> list[float]:
        total, out = 0.0, []
        for rank in range(n):
            total += 1 / (rank + 1) ** 0.9
            out.append(total)
        return out

    def popular_in(self, category: int) -> int:
        members = self.members[category]
        return self.rng.choices(members, cum_weights=self.weights[category])[0]

    def anywhere(self) -> int:
        return self.rng.choices(range(PRODUCTS), cum_weights=self.everything)[0]

    def order(self, favourite: int, bought: list[int]) -> list[int]:
        rng = self.rng
        if bought and rng.random() < 0.4:
            seed = rng.choice(self.companions[rng.choice(bought)])
        elif rng.random() < 0.75:
            seed = self.popular_in(favourite)
        else:
            seed = self.anywhere()
        items = [seed]
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            items.append(
                rng.choice(self.companions[seed])
                if rng.random() < 0.6
                else self.popular_in(favourite)
            )
        return list(dict.fromkeys(items))


def _catalogue(world: World, source_id: int) -> None:
    rows = [
        {"external_id": sku, "sku": sku, "name": f"Product {sku}",
         "category": f"Category {world.category[i]}", "price": f"{10 + i % 90}.00",
         "in_stock": world.in_stock[i]}
        for i, sku in enumerate(world.skus)
    ]  # fmt: skip
    for start in range(0, len(rows), 5000):
        upsert_products(source_id=source_id, rows=rows[start : start + 5000])


def _people() -> tuple[list[int], int]:
    defaults.ensure_installed()
    with connection.cursor() as cursor:
        cursor.execute(PROFILES_SQL, [CUSTOMERS])
    ids = list(Profile.objects.order_by("id").values_list("id", flat=True))
    kind = IdentifierKind.objects.get(name="user_id")
    now = datetime.now(UTC)
    identity = Identity.objects.create(
        kind=kind, value="bench", profile_id=ids[0], first_seen_at=now, last_seen_at=now
    )
    return ids, identity.pk


def _properties(world: World, items: list[int], order_id: str) -> str:
    products = [
        {"sku": world.skus[i], "product_id": world.skus[i], "name": f"Product {world.skus[i]}",
         "price": 10 + i % 90, "quantity": 1}
        for i in items
    ]  # fmt: skip
    return json.dumps({"order_id": order_id, "products": products}, separators=(",", ":"))


def _line(event: int, at: str, pid: int, identity: int, source: int, name: str, props: str):
    return f"{event}\t{at}\t{pid}\t{identity}\t{source}\ttrack\t{name}\t{at}\t{props}\n"


def _history(world: World, ids: list[int], identity: int, source: int, now: datetime):
    """The COPY lines of every order but each customer's last, and of the views; the held-out
    last orders {profile id: (items, bought before)}."""
    rng, held, lines = world.rng, {}, []
    event = 0
    for n, pid in enumerate(ids):
        favourite = rng.randrange(len(world.members))
        bought: list[int] = []
        orders = rng.choice((1, 1, 2, 2, 3, 4, 5))
        start = now - timedelta(days=rng.uniform(60, 400))
        for k in range(orders):
            items = world.order(favourite, bought)
            if k == orders - 1 and orders > 1:
                held[pid] = (items, set(bought))
                break
            event += 1
            at = (start + timedelta(days=20 * k)).isoformat()
            props = _properties(world, items, f"o{event}")
            lines.append(_line(event, at, pid, identity, source, "Order Completed", props))
            bought.extend(items)
        for _ in range(rng.randrange(5)):
            event += 1
            at = (now - timedelta(days=rng.uniform(0, 29))).isoformat()
            sku = world.skus[world.popular_in(favourite)]
            props = json.dumps({"sku": sku, "product_id": sku})
            lines.append(_line(event, at, pid, identity, source, "Product Viewed", props))
        if len(lines) >= CHUNK:
            yield lines, held
            lines = []
            progress(n + 1, len(ids), "customers")
    progress(len(ids), len(ids), "customers")
    yield lines, held


def _write(world: World, ids: list[int], identity: int, source: int, now: datetime) -> dict:
    held: dict = {}
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(EVENT_COPY) as copy:
            for lines, so_far in _history(world, ids, identity, source, now):
                copy.write("".join(lines))
                held = so_far
        cursor.execute("ANALYZE profiles_profileevent")
    return held


def _hit_rates(world: World, held: dict) -> tuple[dict[str, float], float, int]:
    """Hit rate at 5 per way of recommending, and of popularity, on the held-out orders."""
    offered = {world.skus[i] for i in range(PRODUCTS) if world.in_stock[i]}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.sku FROM (SELECT item ->> 'sku' AS sku, count(DISTINCT e.profile_id) AS n "
            "FROM profiles_profileevent e CROSS JOIN LATERAL jsonb_array_elements("
            "e.properties -> 'products') AS item WHERE e.name = 'Order Completed' "
            "GROUP BY 1) o ORDER BY o.n DESC, o.sku"
        )
        popular = [sku for (sku,) in cursor.fetchall() if sku in offered]
    ways = {"all kinds, merged": None, **{k: k for k in selectors.KINDS}}
    hits = dict.fromkeys(ways, 0)
    popular_hits = evaluated = 0
    for pid, (items, before) in list(held.items())[:EVALUATED]:
        wanted = {world.skus[i] for i in items if i not in before} & offered
        if not wanted:
            continue
        evaluated += 1
        owned = {world.skus[i] for i in before}
        top = [s for s in popular if s not in owned][:AT_5]
        popular_hits += bool(wanted & set(top))
        by_kind = selectors.recommendations_by_kind(profile_id=pid, limit=AT_5)
        for label, kind in ways.items():
            found = by_kind[kind] if kind else selectors.merged(by_kind, limit=AT_5)
            hits[label] += bool(wanted & {p["sku"] for p in found})
    rates = {label: 100 * n / max(evaluated, 1) for label, n in hits.items()}
    return rates, 100 * popular_hits / max(evaluated, 1), evaluated


def _personal_times(held: dict) -> tuple[list[float], list[float]]:
    people = list(held)[:PERSONAL_RUNS]
    recompute, read = [], []
    for pid in people:
        started = time.perf_counter()
        services.recompute_for(profile_ids=[pid])
        recompute.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        selectors.recommendations_by_kind(profile_id=pid)
        read.append((time.perf_counter() - started) * 1000)
    return recompute, read


def _timing_steps(steps: list):
    """compute._run, timing each statement (printed after the run: where the time goes)."""
    from campaigns.recommendations import compute

    plain = compute._run

    def timed(sql, params):
        started = time.perf_counter()
        plain(sql, params)
        steps.append((time.perf_counter() - started, " ".join(sql.split())[:80]))

    compute._run = timed
    return lambda: setattr(compute, "_run", plain)


def run() -> list[Row]:
    now = datetime.now(UTC).replace(microsecond=0)
    world = World(random.Random(SEED))
    source = collect.create_source(name="Recommendations bench", kind="server")
    _catalogue(world, source.id)
    ids, identity = _people()
    held = _write(world, ids, identity, source.id, now)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(READ_ORDERS)
        lines = cursor.fetchone()[0]
    read_s = time.perf_counter() - started
    steps: list = []
    restore = _timing_steps(steps)
    started = time.perf_counter()
    summary = services.recompute_all(now=now)
    whole_s = time.perf_counter() - started
    restore()
    for seconds, text in steps:
        print(f"  {seconds:8.2f} s  {text}")
    print(f"  {lines:,} order lines; {summary.people:,} people with {summary.lists:,} lists")
    rates, popular_rate, evaluated = _hit_rates(world, held)
    recompute_ms, read_ms = _personal_times(held)
    size = f"{CUSTOMERS:,} customers, {PRODUCTS:,} products"
    rows = [
        Row(
            figure=f"Whole run, {size} ({lines:,} order lines)",
            value=whole_s,
            unit="s",
            baseline="one pass reading every order's products",
            baseline_value=read_s,
            target="<= 600 s at 1,000,000 customers, 10,000 products",
        ),
        Row(
            figure="Whole run projected to 1,000,000 customers (linear in customers)",
            value=whole_s * 1_000_000 / CUSTOMERS,
            unit="s",
            baseline="the read pass, projected alike",
            baseline_value=read_s * 1_000_000 / CUSTOMERS,
            target="<= 600 s",
        ),
    ]
    rows += latency_rows(
        "One person recomputed after an order",
        recompute_ms,
        baseline="reading their recommendations",
        baseline_ms=read_ms,
        target="",
    )
    for label, rate in rates.items():
        rows.append(
            Row(
                figure=f"Hit rate at 5, held-out last orders ({evaluated:,} customers): {label}",
                value=rate,
                unit="%",
                baseline="the 5 most bought products (popularity)",
                baseline_value=popular_rate,
                target="above popularity" if label == "all kinds, merged" else "",
            )
        )
    return rows
