"""Writes of insights: only the upkeep of its rollups (the reports themselves read).

Other apps use nothing here; the scheduled task calls ``compact_stage_flows``."""

from django.db import connection, transaction

# Rows appended before this statement's snapshot of the newest id, for hours (days) that
# are over, become one row per group (zero sums disappear). Appends made meanwhile are
# left for the next pass, so concurrent processing is never blocked or counted twice.
COMPACT = """
WITH newest AS (SELECT coalesce(max(id), 0) AS id FROM {table}),
gone AS (
    DELETE FROM {table} t USING newest WHERE t.id <= newest.id AND t.{when} < {over}
    RETURNING {columns}, t.moves
),
kept AS (
    INSERT INTO {table} ({columns}, moves)
    SELECT {columns}, sum(moves) FROM gone GROUP BY {columns} HAVING sum(moves) <> 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM kept)
"""
# Only these constants are formatted in (no input reaches the statements).
COMPACTIONS = [
    COMPACT.format(
        table="insights_stageflow",
        when="hour",
        over="date_trunc('hour', now(), 'UTC')",
        columns="hour, from_stage, to_stage",
    ),
    COMPACT.format(
        table="insights_stagespell",
        when="day",
        over="(now() AT TIME ZONE 'UTC')::date",
        columns="day, from_stage, spell",
    ),
]


@transaction.atomic
def compact_stage_flows() -> tuple[int, int]:
    """Sums the rows appended to the stage rollups (flows and spells) for hours and days
    that are over; returns (rows read, rows kept)."""
    read = kept = 0
    with connection.cursor() as cursor:
        for statement in COMPACTIONS:
            cursor.execute(statement)
            gone, left = cursor.fetchone()
            read, kept = read + gone, kept + left
    return read, kept
