"""Reads of insights that are not one report's: the check that its rollups equal a count
of what they sum up. Other apps use nothing here."""

from django.db import connection

# Both sides grouped the same way, as text keys; a FULL JOIN keeps a group either lacks.
DIFFERENCES = """
WITH history AS (
    SELECT concat_ws(' ', {history_key}) AS key, count(*) AS moves
    FROM profiles_stagechange WHERE {history_rows} GROUP BY 1
), rollup AS (
    SELECT concat_ws(' ', {rollup_key}) AS key, sum(moves) AS moves
    FROM {rollup} GROUP BY 1 HAVING sum(moves) <> 0
)
SELECT '{name} ' || coalesce(h.key, r.key), coalesce(h.moves, 0), coalesce(r.moves, 0)
FROM history h FULL JOIN rollup r ON h.key = r.key
WHERE coalesce(h.moves, 0) <> coalesce(r.moves, 0)
"""
# Each rollup's grouping, as the trigger of migration 0001 computes it (constants only).
CHECKS = [
    DIFFERENCES.format(
        name="flow",
        history_key="date_trunc('hour', changed_at, 'UTC'), from_stage, to_stage",
        history_rows="true",
        rollup="insights_stageflow",
        rollup_key="hour, from_stage, to_stage",
    ),
    DIFFERENCES.format(
        name="spell",
        history_key="(changed_at AT TIME ZONE 'UTC')::date, from_stage, "
        "insights_spell(extract(epoch FROM changed_at - since))",
        history_rows="since IS NOT NULL AND from_stage <> ''",
        rollup="insights_stagespell",
        rollup_key="day, from_stage, spell",
    ),
]


def stage_flow_differences() -> list[tuple[str, int, int]]:
    """The groups of the stage rollups whose moves differ from a count of the history, as
    (group, history's count, rollup's). Empty when they agree."""
    found = []
    with connection.cursor() as cursor:
        for statement in CHECKS:
            cursor.execute(statement)
            found += cursor.fetchall()
    return sorted(found)
