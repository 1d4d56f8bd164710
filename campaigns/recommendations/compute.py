"""The SQL of recommendations: everything runs in PostgreSQL, in one transaction.

1. Order lines: every product of every order event (``properties.products[]``), named by
   its ``sku`` (else its ``product_id``); views: the products a person viewed or put in a
   basket (``Product Viewed``, ``Product Added``: ``properties.sku``) in the last
   VIEW_DAYS days. Both go to temporary tables, for everyone or for a few people.
2. The item tables (whole runs only): each product's NEIGHBOURS best neighbours by cosine
   similarity over orders (orders holding both / sqrt(orders of one × orders of the
   other)), and each category's CATEGORY_TOP products bought by the most people.
3. Per person, LIST_SIZE products of each kind:
   * bought_together: neighbours of what they bought, scores summed over their products;
   * popular_in_category: the top of their favourite category (the category of what they
     bought, weight 3 a line, and viewed, weight 1; the latest breaks a tie);
   * viewed_not_bought: what they viewed or put in a basket, latest first.

Never in a list: a product they ever bought, or one not offered (inactive, out of stock
or deleted at its source: integrations.catalog). Item keys are SKUs; a SKU in several
sources is offered as its most recently changed offered product.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from profiles.attribution import ORDER_EVENT

VIEW_EVENTS = ["Product Viewed", "Product Added"]
VIEW_DAYS = 30
LIST_SIZE = 10
NEIGHBOURS = 10
CATEGORY_TOP = 15
# An order of more lines than this (a company's bulk order) says little about which
# products go together and would add its lines squared to the pairs: left out of them.
MAX_BASKET = 50

# Item keys compare byte by byte (COLLATE "C", as the item tables' columns do): sorting
# millions of them by the database's language rules took most of a run.
KEY = """(coalesce(nullif({item} ->> 'sku', ''), nullif({item} ->> 'product_id', ''))
          COLLATE "C")"""
SCOPE = {"all": "", "some": "AND e.profile_id = ANY(%(ids)s)"}

LINES = """
CREATE TEMP TABLE rec_lines ON COMMIT DROP AS
SELECT e.profile_id, e.event_id AS order_id, e."timestamp" AS at, {key} AS sku
FROM profiles_profileevent e
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(e.properties -> 'products') = 'array'
         THEN e.properties -> 'products' ELSE '[]'::jsonb END) AS item
WHERE e.name = %(order)s {scope} AND {key} IS NOT NULL
"""
VIEWS = """
CREATE TEMP TABLE rec_views ON COMMIT DROP AS
SELECT e.profile_id, {key} AS sku, max(e."timestamp") AS at
FROM profiles_profileevent e
WHERE e.name = ANY(%(views)s) AND e."timestamp" >= %(since)s {scope} AND {key} IS NOT NULL
GROUP BY 1, 2
"""
OWNED = """
CREATE TEMP TABLE rec_owned ON COMMIT DROP AS
SELECT DISTINCT profile_id, sku FROM rec_lines;
CREATE INDEX ON rec_owned (profile_id, sku);
"""
# The catalogue by item key: what is offered (one product per key), and every key's category.
CATALOGUE = """
CREATE TEMP TABLE rec_offered ON COMMIT DROP AS
SELECT DISTINCT ON (sku) sku, id AS product_id, category FROM (
    SELECT coalesce(nullif(sku, ''), nullif(product_id, '')) COLLATE "C" AS sku, id,
           category COLLATE "C" AS category, updated_at
    FROM integrations_product
    WHERE active AND in_stock AND deleted_at IS NULL) p
WHERE sku IS NOT NULL ORDER BY sku, updated_at DESC NULLS LAST, id DESC;
CREATE UNIQUE INDEX ON rec_offered (sku);
CREATE TEMP TABLE rec_category ON COMMIT DROP AS
SELECT DISTINCT ON (sku) sku, category FROM (
    SELECT coalesce(nullif(sku, ''), nullif(product_id, '')) COLLATE "C" AS sku, id,
           category COLLATE "C" AS category, updated_at
    FROM integrations_product WHERE category <> '') p
WHERE sku IS NOT NULL ORDER BY sku, updated_at DESC NULLS LAST, id DESC;
CREATE UNIQUE INDEX ON rec_category (sku);
"""
NEIGHBOUR_TABLE = """
TRUNCATE campaigns_itemneighbour;
INSERT INTO campaigns_itemneighbour (sku, neighbour, together, score)
WITH baskets AS (
    SELECT order_id, sku FROM (
        SELECT DISTINCT order_id, sku FROM rec_lines) d
    WHERE order_id IN (SELECT order_id FROM rec_lines GROUP BY order_id
                       HAVING count(DISTINCT sku) BETWEEN 2 AND %(max_basket)s)
), counts AS (
    SELECT sku, count(*) AS n FROM baskets GROUP BY sku
), pairs AS (
    SELECT a.sku, b.sku AS neighbour, count(*) AS together
    FROM baskets a JOIN baskets b ON b.order_id = a.order_id AND b.sku <> a.sku
    WHERE b.sku IN (SELECT sku FROM rec_offered)
    GROUP BY a.sku, b.sku
), ranked AS (
    SELECT p.sku, p.neighbour, p.together, p.together / sqrt(ca.n::float8 * cb.n) AS score
    FROM pairs p JOIN counts ca ON ca.sku = p.sku JOIN counts cb ON cb.sku = p.neighbour
), numbered AS (
    SELECT *, row_number() OVER (PARTITION BY sku ORDER BY score DESC, together DESC,
                                 neighbour) AS rn
    FROM ranked
)
SELECT sku, neighbour, together, score FROM numbered WHERE rn <= %(neighbours)s;
ANALYZE campaigns_itemneighbour;
"""
CATEGORY_TABLE = """
TRUNCATE campaigns_categorytop;
INSERT INTO campaigns_categorytop (category, sku, buyers, rank)
SELECT category, sku, buyers, rn FROM (
    SELECT o.category, o.sku, b.buyers,
           row_number() OVER (PARTITION BY o.category ORDER BY b.buyers DESC, o.sku) AS rn
    FROM (SELECT sku, count(*) AS buyers FROM rec_owned GROUP BY sku) b
    JOIN rec_offered o ON o.sku = b.sku
    WHERE o.category <> '') t
WHERE rn <= %(top)s;
ANALYZE campaigns_categorytop;
"""
NOT_OWNED = (
    "NOT EXISTS (SELECT 1 FROM rec_owned b WHERE b.profile_id = c.profile_id AND b.sku = c.sku)"
)
# c: candidates (profile_id, sku, score, category); the person's best LIST_SIZE, offered.
LISTS = """
INSERT INTO campaigns_recommendation (profile_id, kind, product_ids, category, computed_at)
SELECT profile_id, %(kind)s, array_agg(product_id ORDER BY rn), max(category), %(now)s
FROM (
    SELECT c.profile_id, f.product_id, c.category,
           row_number() OVER (PARTITION BY c.profile_id ORDER BY c.score DESC, c.sku) AS rn
    FROM ({candidates}) c JOIN rec_offered f ON f.sku = c.sku
    WHERE {not_owned}
) t
WHERE rn <= %(size)s
GROUP BY profile_id
-- A person's run racing the whole run's commit replaces rather than fails.
ON CONFLICT (profile_id, kind) DO UPDATE SET product_ids = excluded.product_ids,
    category = excluded.category, computed_at = excluded.computed_at
"""
CANDIDATES = {
    "bought_together": """
        SELECT o.profile_id, n.neighbour AS sku, sum(n.score) AS score, '' AS category
        FROM rec_owned o JOIN campaigns_itemneighbour n ON n.sku = o.sku
        GROUP BY o.profile_id, n.neighbour""",
    "popular_in_category": """
        SELECT f.profile_id, t.sku, -t.rank AS score, f.category
        FROM (SELECT DISTINCT ON (i.profile_id) i.profile_id, g.category
              FROM (SELECT profile_id, sku, 3 AS weight, at FROM rec_lines
                    UNION ALL SELECT profile_id, sku, 1, at FROM rec_views) i
              JOIN rec_category g ON g.sku = i.sku
              GROUP BY i.profile_id, g.category
              ORDER BY i.profile_id, sum(i.weight) DESC, max(i.at) DESC, g.category) f
        JOIN campaigns_categorytop t ON t.category = f.category""",
    "viewed_not_bought": """
        SELECT v.profile_id, v.sku, extract(epoch FROM v.at) AS score, '' AS category
        FROM rec_views v""",
}


def _run(sql: str, params: dict) -> None:
    with connection.cursor() as cursor:
        for statement in filter(str.strip, sql.split(";\n")):
            cursor.execute(statement, params if "%(" in statement else None)


TEMPORARY = ("rec_lines", "rec_views", "rec_owned", "rec_offered", "rec_category")


def _drop_temporary() -> None:
    # ON COMMIT DROP covers a run in a transaction of its own; a second run inside one
    # outer transaction (a caller's, a test's) finds them still there.
    _run(f"DROP TABLE IF EXISTS {', '.join('pg_temp.' + t for t in TEMPORARY)}", {})


def _inputs(*, scope: str, params: dict) -> None:
    _drop_temporary()
    key = KEY.format(item="item")
    _run(LINES.format(key=key, scope=SCOPE[scope]), params)
    _run(VIEWS.format(key=KEY.format(item="e.properties"), scope=SCOPE[scope]), params)
    _run(OWNED + CATALOGUE, params)
    # Autovacuum never analyzes temporary tables: without this the planner guesses.
    _run(";\n".join(f"ANALYZE {table}" for table in TEMPORARY), {})


def _params(now: datetime, ids: list[int] | None = None) -> dict:
    return {
        "order": ORDER_EVENT,
        "views": VIEW_EVENTS,
        "since": now - timedelta(days=VIEW_DAYS),
        "now": now,
        "ids": ids or [],
        "size": LIST_SIZE,
        "neighbours": NEIGHBOURS,
        "top": CATEGORY_TOP,
        "max_basket": MAX_BASKET,
    }


def _lists(params: dict) -> None:
    for kind, candidates in CANDIDATES.items():
        sql = LISTS.format(candidates=candidates, not_owned=NOT_OWNED)
        _run(sql, {**params, "kind": kind})


def compute_all(*, now: datetime) -> None:
    """Rebuilds the item tables and every person's lists. Call inside a transaction: the
    old lists stay visible to readers until it commits."""
    params = _params(now)
    # Sorts and hashes over every order line: in memory rather than spilled to disk.
    _run(f"SET LOCAL work_mem = '{int(settings.RECOMMENDATIONS_WORK_MEM_MB)}MB'", {})
    _inputs(scope="all", params=params)
    _run(NEIGHBOUR_TABLE + CATEGORY_TABLE, params)
    _run("DELETE FROM campaigns_recommendation", {})
    _lists(params)
    _drop_temporary()


def compute_some(*, profile_ids: list[int], now: datetime) -> None:
    """Rebuilds these people's lists with the item tables of the last whole run. Call
    inside a transaction."""
    params = _params(now, profile_ids)
    _inputs(scope="some", params=params)
    _run("DELETE FROM campaigns_recommendation WHERE profile_id = ANY(%(ids)s)", params)
    _lists(params)
    _drop_temporary()


def ordered_since(when: datetime) -> list[int]:
    """The people with an order stamped at or after ``when`` (the name-and-time index)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT profile_id FROM profiles_profileevent "
            'WHERE name = %s AND "timestamp" >= %s',
            [ORDER_EVENT, when],
        )
        return [row[0] for row in cursor.fetchall()]
