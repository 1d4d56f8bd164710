"""What a file-drop connection does with a file it took: the file import, the record that
it was taken, and moving it to done/ or failed/ once that record is committed.

Others may use: ``store_files`` (the file-drop stream's ``store``: see base.Stream) and
``summary`` (the connection page: how many files were imported, wait for a mapping,
failed). ``recorded`` is what the read asks to leave out the files already taken.

A page's record is one staged file, as the read left it under VAR_DIR/imports:
{"name", "size", "mtime", "stored_name", "stored_size", "sha256"}, or {"name", "size",
"mtime", "error"} for a file that could not be read. The staged name derives from the
connection and the file's (name, size, mtime): a slice read twice stages the same file
under the same name, and only the slice that commits records an import of it.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.db.models import Count

from integrations.collect.messages import Rejection
from integrations.imports import files
from integrations.imports import selectors as import_selectors
from integrations.imports import services as imports
from integrations.imports.models import FileImport

from .base import Stored
from .folders import open_folder
from .models import Connection, DroppedFile

logger = logging.getLogger(__name__)

WAITING = "Waiting for a mapping: {why}"


def recorded(*, connection_id: int, names: list[str]) -> set[tuple[str, int, float]]:
    """(name, size, mtime) of the files among ``names`` this connection already took."""
    rows = DroppedFile.objects.filter(connection_id=connection_id, name__in=names)
    return set(rows.values_list("name", "size", "mtime"))


def store_files(*, connection: Connection, stream, page, reader, now) -> Stored:
    """Records each file of the page (an import, a duplicate, or a failure) in the
    slice's transaction; after the commit, moves them as the connection says."""
    kept, moves = Stored(), []
    for record in page.records:
        dropped = _keep(connection, record, reader.config)
        if dropped is None:
            continue
        if dropped.status == DroppedFile.Status.IMPORTED:
            kept.stored += 1
        elif dropped.status == DroppedFile.Status.DUPLICATE:
            kept.duplicates += 1
        else:
            kept.rejections.append(Rejection("file_drop", dropped.error, _shown(record)))
        moves.append(dropped.pk)
    if moves and reader.config.get("when_done", "move") == "move":
        kept.after_commit = partial(
            _move_all, ids=moves, config=reader.config, secrets=reader.secrets
        )
    return kept


def _shown(record: dict) -> dict:
    return {k: record[k] for k in ("name", "size", "mtime") if k in record}


def _keep(connection: Connection, record: dict, config: dict) -> DroppedFile | None:
    seen = {"name": record["name"], "size": record["size"], "mtime": record["mtime"]}
    if DroppedFile.objects.filter(connection=connection, **seen).exists():
        return None  # taken already (the read lists before it looks; nothing more to do)
    if record.get("error"):
        return DroppedFile.objects.create(
            connection=connection, status=DroppedFile.Status.FAILED, error=record["error"], **seen
        )
    stored = files.StoredFile(record["stored_name"], record["stored_size"], record["sha256"])
    earlier = (
        DroppedFile.objects.filter(
            connection=connection, sha256=stored.sha256, status=DroppedFile.Status.IMPORTED
        )
        .order_by("id")
        .first()
    )
    if earlier is not None:
        # The same content again (re-sent, renamed, touched): recorded, never imported twice.
        files.path_of(stored.name).unlink(missing_ok=True)
        return DroppedFile.objects.create(
            connection=connection,
            sha256=stored.sha256,
            status=DroppedFile.Status.DUPLICATE,
            file_import_id=earlier.file_import_id,
            **seen,
        )
    return _import(connection, stored, seen, fmt=_forced_format(config))


def _forced_format(config: dict) -> str | None:
    fmt = config.get("format") or "auto"
    return None if fmt == "auto" else fmt


def _import(connection: Connection, stored, seen: dict, *, fmt) -> DroppedFile:
    try:
        created = imports.record_import(
            source=connection.source, stored=stored, original_name=seen["name"], fmt=fmt
        )
    except files.FileError as exc:
        files.path_of(stored.name).unlink(missing_ok=True)
        return DroppedFile.objects.create(
            connection=connection,
            sha256=stored.sha256,
            status=DroppedFile.Status.FAILED,
            error=_with_hint(str(exc))[:500],
            **seen,
        )
    note = ""
    mapping = import_selectors.saved_mapping(source=connection.source)
    if mapping is None:
        note = WAITING.format(why="this source has none yet; map this file to save one.")
    else:
        try:
            imports.start_import(file_import=created, mapping=mapping, save=False)
        except imports.MappingInvalid as exc:
            # A file with other columns than the saved mapping names waits, as an upload
            # does, for the admin to map it.
            note = WAITING.format(why="; ".join(exc.problems.values()))
    return DroppedFile.objects.create(
        connection=connection,
        sha256=stored.sha256,
        status=DroppedFile.Status.IMPORTED,
        file_import=created,
        error=note[:500],
        **seen,
    )


def _with_hint(message: str) -> str:
    if "UTF-8" in message:
        return message + " Or set the connection's encoding to the one the file uses."
    return message


def _move_all(*, ids: list[int], config: dict, secrets: dict) -> None:
    """Moves the recorded files: imported (and duplicates) to done/, failed to failed/.
    A file that cannot be moved stays where it is; its record keeps it from being taken
    again, and says why it was not moved."""
    dropped = list(DroppedFile.objects.filter(pk__in=ids).order_by("id"))
    try:
        with open_folder(config, secrets) as folder:
            for item in dropped:
                failed = item.status == DroppedFile.Status.FAILED
                subfolder = config.get("failed_folder" if failed else "done_folder")
                subfolder = subfolder or ("failed" if failed else "done")
                try:
                    moved = folder.move(item.name, subfolder)
                except OSError as exc:
                    _record_move(item.pk, move_error=str(getattr(exc, "strerror", None) or exc))
                else:
                    _record_move(item.pk, moved_to=moved)
    except Exception as exc:  # noqa: BLE001 (the folder is unreachable now: say so)
        for item in dropped:
            _record_move(item.pk, move_error=str(exc))


@transaction.atomic
def _record_move(pk: int, *, moved_to: str = "", move_error: str = "") -> None:
    DroppedFile.objects.filter(pk=pk).update(moved_to=moved_to[:500], move_error=move_error[:300])


def summary(*, connection: Connection, recent: int = 20) -> dict:
    """What the connection page says of the files: counts by outcome, how many imports
    wait for a mapping, and the most recent files."""
    counts = {
        row["status"]: row["n"]
        for row in DroppedFile.objects.filter(connection=connection)
        .values("status")
        .annotate(n=Count("id"))
    }
    waiting = FileImport.objects.filter(
        source_id=connection.source_id, status=FileImport.Status.UPLOADED, file_deleted_at=None
    ).count()
    return {
        "imported": counts.get(DroppedFile.Status.IMPORTED, 0),
        "duplicates": counts.get(DroppedFile.Status.DUPLICATE, 0),
        "failed": counts.get(DroppedFile.Status.FAILED, 0),
        "waiting_for_mapping": waiting,
        "recent": list(
            DroppedFile.objects.filter(connection=connection)
            .select_related("file_import")
            .order_by("-id")[:recent]
        ),
    }
