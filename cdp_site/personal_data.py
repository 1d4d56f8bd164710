"""One registry of the tables that hold data about a person, so that a data subject's
export and erasure are this registry's loop and a table added next year cannot be
forgotten (tests/cdp_site/test_personal_data_registry.py walks every model and fails on
one that looks personal and is neither registered nor exempted with a written reason).

Each app registers its tables in AppConfig.ready() (``register``): what the subject's
rows are (``export``, JSON-able dicts) and how they go (``erase``: deleted, or anonymised
where an aggregate must stay), with a ``step`` that orders the erasure (rows that others
point at go last: events before their raw copies' links, identities after the facts that
name them, profiles at the end). An app may register rows of a lower app's table when
only it knows which rows are the person's (profiles knows which raw events were theirs).
A table that looks personal but is not, or is kept on purpose, is ``exempt`` with why.

The SQL helpers below name tables and columns the registrations give in code (never
input), composed with psycopg's ``sql.Identifier``; the subject's ids and identifiers
are parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from psycopg import sql

from .pgarrays import adapt


@dataclass(frozen=True)
class Subject:
    """Whom a request is about: every profile of the person (a merged person's others
    too) and the identifiers they are known by, as (kind, value) with the value
    normalised as identity resolution stores it."""

    profile_ids: tuple[int, ...]
    identifiers: tuple[tuple[str, str], ...] = ()

    def values(self, *kinds: str) -> list[str]:
        """The identifier values of ``kinds`` (every kind when none is named)."""
        return sorted({v for k, v in self.identifiers if not kinds or k in kinds})


Export = Callable[[Subject], list[dict]]
Erase = Callable[[Subject], int]


@dataclass(frozen=True)
class Holder:
    model: str  # the model label, e.g. "profiles.Identity"
    part: str  # the export's name for these rows, e.g. "identities"
    export: Export
    erase: Erase
    step: int


HOLDERS: list[Holder] = []
EXEMPT: dict[str, str] = {}  # model label -> why it holds nothing to export or erase


def register(*, model: str, part: str, export: Export, erase: Erase, step: int = 50) -> None:
    if any(h.part == part for h in HOLDERS):
        return  # ready() may run twice (tests); the first registration stands
    HOLDERS.append(Holder(model=model, part=part, export=export, erase=erase, step=step))


def exempt(*, model: str, reason: str) -> None:
    EXEMPT[model] = reason


def registered_models() -> set[str]:
    return {h.model for h in HOLDERS}


def export_subject(subject: Subject) -> dict[str, list[dict]]:
    """Every registered part's rows for the subject: {part: rows}."""
    return {h.part: h.export(subject) for h in sorted(HOLDERS, key=lambda h: (h.step, h.part))}


@transaction.atomic
def erase_subject(subject: Subject) -> dict[str, int]:
    """Erases the subject's rows in every registered table, in one transaction, in step
    order; returns {part: rows erased}."""
    return {h.part: h.erase(subject) for h in sorted(HOLDERS, key=lambda h: (h.step, h.part))}


# Helpers for the common shapes ---------------------------------------------------------


def select(statement: sql.Composable, params) -> list[dict]:
    """Rows of a statement whose one column is a row as jsonb (``to_jsonb(t)``)."""
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection), adapt(params))
        # jsonb read by a raw query comes back as text on Django's connection
        return [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in cursor]


def run(statement: sql.Composable, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection), adapt(params))
        return max(cursor.rowcount, 0)


def by_profile(
    model: str, table: str, *, part: str, column: str = "profile_id", step: int = 50
) -> None:
    """Registers ``table``'s rows whose ``column`` holds one of the subject's profiles."""
    where = sql.SQL("{} = ANY(%s)").format(sql.Identifier(column))
    by_condition(model, table, part=part, where=where, params=_profiles, step=step)


def by_condition(
    model: str,
    table: str,
    *,
    part: str,
    where: sql.Composable,
    params: Callable[[Subject], list],
    step: int = 50,
) -> None:
    """Registers ``table``'s rows matching ``where`` (placeholders filled by ``params``)."""
    name = sql.Identifier(table)
    read = sql.SQL("SELECT to_jsonb(t) FROM {} t WHERE {}").format(name, where)
    delete = sql.SQL("DELETE FROM {} t WHERE {}").format(name, where)
    register(
        model=model,
        part=part,
        export=lambda subject: select(read, params(subject)),
        erase=lambda subject: run(delete, params(subject)),
        step=step,
    )


def _profiles(subject: Subject) -> list:
    return [list(subject.profile_ids)]
