"""Every active profile's row kept in one DuckDB table in a worker's memory, so that the
profiles that just changed are scored against all the others in a fraction of a second
(Splink's predict_between), without starting DuckDB or reading a million profiles again
for each batch. Django-free: profiles/matching/incremental.py feeds it.

Term frequencies (how common a name is) are computed once, when the index is built; the
few profiles changed since do not move them much, and the index is rebuilt when the model
changes and every REBUILD_SECONDS (incremental.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from . import blocking_caps, engine

TABLE = "matcher_rows"


class WarmIndex:
    def __init__(self, rows: Iterable[dict], *, model: dict, limits: engine.Limits):
        import duckdb
        import pyarrow as pa
        from splink import DuckDBAPI, Linker

        self.model = model
        self.connection = duckdb.connect()
        self.connection.execute(f"SET memory_limit = '{engine._memory(limits.memory)}'")
        self.connection.execute(f"SET threads = {int(limits.threads)}")
        rows = list(rows)
        blocking = [
            engine._rule_fields(r) for r in model.get("blocking_rules_to_generate_predictions", [])
        ]
        # Placeholders shared by too many stay out, in the index and in what comes later.
        self.capped = blocking_caps.cap_blocks(
            rows, [b for b in blocking if b], max_block=limits.max_block
        )
        arrow = pa.Table.from_pylist(rows, schema=engine._schema())
        self.connection.register("arrow_rows", arrow)
        self.connection.execute("CREATE TABLE matcher_rows AS SELECT * FROM arrow_rows").fetchall()
        self.connection.unregister("arrow_rows")
        self.size = arrow.num_rows
        self.db_api = DuckDBAPI(connection=self.connection)
        self.existing = self.db_api.register(TABLE, table_name="existing_rows")
        self.linker = Linker(self.existing, model, log_level=logging.WARNING)
        for column in _frequency_columns(model):
            self.linker.table_management.compute_tf_table(column)

    def upsert(self, rows: Sequence[dict], *, gone: Iterable[int] = ()) -> None:
        """Replaces the changed profiles' rows and removes those merged away or erased
        (and the changed ones with nothing left to compare)."""
        import pyarrow as pa

        rows = [dict(row) for row in rows]
        blocking_caps.apply_caps(rows, self.capped)
        ids = [row[engine.ID] for row in rows] + list(gone)
        if ids:
            self.connection.execute(
                "DELETE FROM matcher_rows WHERE unique_id IN (SELECT UNNEST(?))", [ids]
            ).fetchall()  # DuckDB 2 wants each result read before the next statement
        if rows:
            self.connection.register(
                "arrow_rows", pa.Table.from_pylist(list(rows), schema=engine._schema())
            )
            self.connection.execute("INSERT INTO matcher_rows SELECT * FROM arrow_rows").fetchall()
            self.connection.unregister("arrow_rows")
        ((self.size,),) = self.connection.execute("SELECT count(*) FROM matcher_rows").fetchall()

    def score(
        self, rows: Sequence[dict], *, threshold: float, vetoes: Sequence[str]
    ) -> list[engine.Pair]:
        """The pairs between these (already upserted) rows and every row, at or above
        ``threshold``; each pair once, and no row with itself."""
        import pyarrow as pa

        if not rows:
            return []
        rows = [dict(row) for row in rows]
        blocking_caps.apply_caps(rows, self.capped)
        changed = self.db_api.register(pa.Table.from_pylist(list(rows), schema=engine._schema()))
        try:
            table = self.linker.inference.predict_between(
                self.existing, changed, threshold_match_probability=threshold
            ).as_pyarrow_table()
        finally:
            changed.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        seen, pairs = set(), []
        for pair in engine._pairs(table, vetoes):
            key = pair.key
            if pair.left != pair.right and key not in seen:
                seen.add(key)
                pairs.append(pair)
        return pairs

    def close(self) -> None:
        self.connection.close()


def _frequency_columns(model: dict) -> list[str]:
    return sorted(
        {
            level["tf_adjustment_column"]
            for spec in model.get("comparisons", [])
            for level in spec.get("comparison_levels", [])
            if level.get("tf_adjustment_column")
        }
    )
