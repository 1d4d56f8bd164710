"""Reads of insights that are not one report's: the check that its rollups equal a count
of what they sum up. Other apps use nothing here."""

from django.db import connection

# Both sides grouped the same way, as text keys; a FULL JOIN keeps a group either lacks.
FLOW_DIFFERENCES = """
WITH history AS (
    SELECT concat_ws(' ', date_trunc('hour', changed_at, 'UTC'), from_stage, to_stage) AS key,
           count(*) AS moves
    FROM profiles_stagechange GROUP BY 1
), rollup AS (
    SELECT concat_ws(' ', hour, from_stage, to_stage) AS key, sum(moves) AS moves
    FROM insights_stageflow GROUP BY 1 HAVING sum(moves) <> 0
)
SELECT 'flow ' || coalesce(h.key, r.key), coalesce(h.moves, 0), coalesce(r.moves, 0)
FROM history h FULL JOIN rollup r ON h.key = r.key
WHERE coalesce(h.moves, 0) <> coalesce(r.moves, 0)
"""
SPELL_DIFFERENCES = """
WITH history AS (
    SELECT concat_ws(' ', (changed_at AT TIME ZONE 'UTC')::date, from_stage,
                     insights_spell(extract(epoch FROM changed_at - since))) AS key,
           count(*) AS moves
    FROM profiles_stagechange WHERE since IS NOT NULL AND from_stage <> '' GROUP BY 1
), rollup AS (
    SELECT concat_ws(' ', day, from_stage, spell) AS key, sum(moves) AS moves
    FROM insights_stagespell GROUP BY 1 HAVING sum(moves) <> 0
)
SELECT 'spell ' || coalesce(h.key, r.key), coalesce(h.moves, 0), coalesce(r.moves, 0)
FROM history h FULL JOIN rollup r ON h.key = r.key
WHERE coalesce(h.moves, 0) <> coalesce(r.moves, 0)
"""


def stage_flow_differences() -> list[tuple[str, int, int]]:
    """The groups of the stage rollups whose moves differ from a count of the history, as
    (group, history's count, rollup's). Empty when they agree."""
    found = []
    with connection.cursor() as cursor:
        for statement in (FLOW_DIFFERENCES, SPELL_DIFFERENCES):
            cursor.execute(statement)
            found += cursor.fetchall()
    return sorted(found)
