"""Small helpers for the set-based statements of the pipeline (parameters only, never
values in SQL text)."""

import json

from django.db import connection

from cdp_site.pgarrays import adapt


def execute(sql: str, params=None) -> None:
    # Lists go as one array literal each (cdp_site/pgarrays.py: psycopg's per-element
    # quoting was a fifth of the processing time).
    with connection.cursor() as cursor:
        cursor.execute(sql, adapt(params))


def rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, adapt(params))
        return cursor.fetchall()


def next_ids(sequence: str, n: int) -> list[int]:
    if not n:
        return []
    return [r[0] for r in rows("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, n])]


def to_json(value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
