"""Writes of insights: only the upkeep of its rollups (the reports themselves read).

Other apps use nothing here; the scheduled task calls ``compact_stage_flows``."""

from django.db import connection, transaction

# Rows appended before this statement's snapshot of the newest id, for hours that are
# over, become one row per group (zero sums disappear). Appends made meanwhile are left
# for the next pass, so concurrent processing is never blocked or counted twice.
COMPACT_FLOWS = """
WITH newest AS (SELECT coalesce(max(id), 0) AS id FROM insights_stageflow),
gone AS (
    DELETE FROM insights_stageflow f USING newest
    WHERE f.id <= newest.id AND f.hour < date_trunc('hour', now(), 'UTC')
    RETURNING f.hour, f.from_stage, f.to_stage, f.moves
),
kept AS (
    INSERT INTO insights_stageflow (hour, from_stage, to_stage, moves)
    SELECT hour, from_stage, to_stage, sum(moves) FROM gone
    GROUP BY 1, 2, 3 HAVING sum(moves) <> 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM kept)
"""
COMPACT_SPELLS = """
WITH newest AS (SELECT coalesce(max(id), 0) AS id FROM insights_stagespell),
gone AS (
    DELETE FROM insights_stagespell s USING newest
    WHERE s.id <= newest.id AND s.day < (now() AT TIME ZONE 'UTC')::date
    RETURNING s.day, s.from_stage, s.spell, s.moves
),
kept AS (
    INSERT INTO insights_stagespell (day, from_stage, spell, moves)
    SELECT day, from_stage, spell, sum(moves) FROM gone
    GROUP BY 1, 2, 3 HAVING sum(moves) <> 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM kept)
"""


@transaction.atomic
def compact_stage_flows() -> tuple[int, int]:
    """Sums the rows appended to the stage rollups (flows and spells) for hours and days
    that are over; returns (rows read, rows kept)."""
    read = kept = 0
    with connection.cursor() as cursor:
        for statement in (COMPACT_FLOWS, COMPACT_SPELLS):
            cursor.execute(statement)
            gone, left = cursor.fetchone()
            read, kept = read + gone, kept + left
    return read, kept
