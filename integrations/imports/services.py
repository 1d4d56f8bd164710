"""Writes of the file import: upload, mapping, start, and the chunked, resumable run.

``run_import`` is the one exception to "one service, one transaction": it commits once
per chunk, and each chunk's transaction holds both the events (via ``ingest_messages``)
and the import's new resume point, so a task killed anywhere resumes after the last
committed chunk and the messageId dedupe absorbs anything replayed.
"""

import logging
from itertools import islice
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cdp_site import outbox, retention
from integrations.catalog.services import upsert_products
from integrations.collect.messages import SERVER
from integrations.services import ingest_messages

from . import files, products
from .files import FileError
from .mapping import Mapping, RowError, to_message
from .models import FileImport, ImportMapping

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000
MAX_ERRORS_KEPT = 200
LIBRARY = {"name": "cdp-file-import", "version": "1"}


class MappingInvalid(Exception):
    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


class ImportStateError(Exception):
    """The import is not in a state that allows this (e.g. starting it twice)."""


class _Superseded(Exception):
    """Another worker committed this chunk first (a redelivered task): stop quietly."""


def create_import(*, source, chunks, original_name: str, user=None) -> FileImport:
    """Streams the upload to VAR_DIR/imports, inspects a sample and records the import.

    ``chunks`` is an iterable of bytes (``UploadedFile.chunks()`` or a file read in
    pieces). Raises FileError with a message for the user (encoding, emptiness, size).
    """
    stored = files.store_upload(chunks)
    try:
        return record_import(source=source, stored=stored, original_name=original_name, user=user)
    except BaseException:
        files.path_of(stored.name).unlink(missing_ok=True)
        raise


@transaction.atomic
def record_import(
    *, source, stored: files.StoredFile, original_name: str, user=None, fmt: str | None = None
) -> FileImport:
    """The import of a file already under VAR_DIR/imports (``files.store_upload``), inspected
    (``fmt`` forces csv or jsonl); FileError when it cannot be imported. The caller owns
    the stored file: it stays on disk when this raises."""
    found = files.inspect(name=stored.name, original_name=original_name, size=stored.size, fmt=fmt)
    return FileImport.objects.create(
        source=source,
        created_by=user if user is not None and user.is_authenticated else None,
        original_name=(original_name or "upload")[:255],
        stored_name=stored.name,
        format=found.format,
        delimiter=found.delimiter,
        size_bytes=stored.size,
        sha256=stored.sha256,
        columns=found.columns,
        rows_estimate=found.rows_estimate,
    )


def import_upload(*, source, uploaded, user) -> FileImport:
    """create_import for a file uploaded through a form or the API (a Django UploadedFile)."""
    return create_import(
        source=source, chunks=uploaded.chunks(), original_name=uploaded.name, user=user
    )


def import_file(*, source, path, mapping: Mapping, user=None, original_name=None) -> FileImport:
    """Programmatic import of a file on disk: upload, start with ``mapping`` (queued)."""

    path = Path(path)

    def chunks():
        with path.open("rb") as f:
            while block := f.read(files.CHUNK_BYTES):
                yield block

    created = create_import(
        source=source, chunks=chunks(), original_name=original_name or path.name, user=user
    )
    return start_import(file_import=created, mapping=mapping)


@transaction.atomic
def save_mapping(*, source, mapping: Mapping) -> ImportMapping:
    data = mapping.as_dict()
    saved, _ = ImportMapping.objects.update_or_create(source=source, defaults=data)
    return saved


@transaction.atomic
def start_import(*, file_import: FileImport, mapping: Mapping, save: bool = True) -> FileImport:
    """Checks the mapping against the file's columns, saves it for the source (a product
    file's is never saved: it is read from the file's header), queues the run."""
    if mapping.row_kind == products.ROW_KIND:
        problems, save = products.problems(mapping, file_import.columns), False
    else:
        problems = mapping.problems(file_import.columns)
    if problems:
        raise MappingInvalid(problems)
    locked = FileImport.objects.select_for_update().get(pk=file_import.pk)
    if locked.status != FileImport.Status.UPLOADED:
        raise ImportStateError(f"This import is already {locked.get_status_display().lower()}.")
    if save:
        save_mapping(source=locked.source, mapping=mapping)
    locked.mapping = mapping.as_dict()
    locked.status = FileImport.Status.QUEUED
    locked.save(update_fields=["mapping", "status"])
    outbox.enqueue("integrations.imports.tasks.run_file_import", locked.pk)
    file_import.refresh_from_db()
    return file_import


ABANDONED = "The file was deleted: it waited {days} days for a mapping."


def import_products(*, source, chunks, original_name: str, user=None) -> FileImport:
    """A product file (integrations/imports/products.py) uploaded and queued for import into
    ``source``'s catalogue, its columns found by their names. FileError when the file cannot
    be read; MappingInvalid (nothing kept) when it lacks the sku or name column."""
    created = create_import(source=source, chunks=chunks, original_name=original_name, user=user)
    try:
        return start_import(
            file_import=created, mapping=products.product_mapping(created.columns), save=False
        )
    except MappingInvalid:
        files.path_of(created.stored_name).unlink(missing_ok=True)
        created.delete()
        raise


def purge_import_files(*, now=None) -> int:
    """Deletes the stored files of imports that ended (done or failed) more than
    IMPORT_FILE_RETENTION_DAYS ago, and of uploads that waited that long for a mapping
    (marked failed: nothing can start them any more). The import's row, its counts and
    its per-line error report stay. Returns how many files went."""
    cutoff = retention.cutoff("IMPORT_FILE_RETENTION_DAYS", now=now)
    if cutoff is None:
        return 0
    ended = Q(status__in=[FileImport.Status.DONE, FileImport.Status.FAILED], finished_at__lt=cutoff)
    abandoned = Q(status=FileImport.Status.UPLOADED, created_at__lt=cutoff)
    ids = FileImport.objects.filter(ended | abandoned, file_deleted_at=None).values_list(
        "pk", flat=True
    )
    purged = 0
    for import_id in list(ids):
        try:
            purged += _delete_file(import_id=import_id, ended=ended, abandoned=abandoned)
        except Exception:  # one file that cannot go must not keep the others
            logger.exception("could not delete the file of import %s", import_id)
    return purged


@transaction.atomic
def _delete_file(*, import_id: int, ended: Q, abandoned: Q) -> int:
    # Under the row's lock and checked again: an upload started meanwhile keeps its file.
    # The file goes first, then the row says so: a failed commit leaves the row to the
    # next purge, which finds the file gone and records it.
    imp = (
        FileImport.objects.select_for_update()
        .filter(ended | abandoned, pk=import_id, file_deleted_at=None)
        .first()
    )
    if imp is None:
        return 0
    files.path_of(imp.stored_name).unlink(missing_ok=True)
    imp.file_deleted_at = timezone.now()
    fields = ["file_deleted_at"]
    if imp.status == FileImport.Status.UPLOADED:
        days = retention.days("IMPORT_FILE_RETENTION_DAYS")
        imp.status, imp.failure = FileImport.Status.FAILED, ABANDONED.format(days=days)
        imp.finished_at = imp.file_deleted_at
        fields += ["status", "failure", "finished_at"]
    imp.save(update_fields=fields)
    return 1


@transaction.atomic
def fail_import(*, import_id: int, reason: str) -> None:
    FileImport.objects.filter(pk=import_id).exclude(status=FileImport.Status.DONE).update(
        status=FileImport.Status.FAILED, failure=reason[:500], finished_at=timezone.now()
    )


@transaction.atomic
def _claim(import_id: int) -> FileImport | None:
    imp = FileImport.objects.select_for_update().select_related("source").get(pk=import_id)
    if imp.status not in (FileImport.Status.QUEUED, FileImport.Status.RUNNING):
        return None
    imp.status = FileImport.Status.RUNNING
    imp.started_at = imp.started_at or timezone.now()
    imp.save(update_fields=["status", "started_at"])
    return imp


def run_import(*, import_id: int, chunk_rows: int = CHUNK_ROWS, max_chunks: int | None = None):
    """Imports the file from its last committed chunk on; returns the import.

    ``max_chunks`` stops after that many chunks (the status stays running): tests use it to
    stand for a worker that died between chunks. Rows are streamed, never all in memory.
    """
    imp = _claim(import_id)
    if imp is None:
        return FileImport.objects.get(pk=import_id)
    mapping = Mapping.from_dict(imp.mapping or {})
    path = files.path_of(imp.stored_name)
    try:
        if not path.exists():
            raise FileError("The uploaded file is no longer on disk.")
        header = files.read_header(path, fmt=imp.format, delimiter=imp.delimiter)
        rows = files.iter_rows(
            path,
            fmt=imp.format,
            delimiter=imp.delimiter,
            header=header,
            offset=imp.bytes_done,
            line=imp.lines_done,
        )
        done = 0
        while chunk := list(islice(rows, chunk_rows)):
            _commit_chunk(imp=imp, rows=chunk, mapping=mapping)
            done += 1
            if max_chunks is not None and done >= max_chunks:
                rows.close()
                return FileImport.objects.get(pk=import_id)
    except FileError as exc:
        fail_import(import_id=import_id, reason=str(exc))
        return FileImport.objects.get(pk=import_id)
    except _Superseded:
        logger.info("file import %s is being run by another worker", import_id)
        return FileImport.objects.get(pk=import_id)
    FileImport.objects.filter(pk=import_id, status=FileImport.Status.RUNNING).update(
        status=FileImport.Status.DONE, finished_at=timezone.now()
    )
    return FileImport.objects.get(pk=import_id)


@transaction.atomic
def _commit_chunk(*, imp: FileImport, rows: list, mapping: Mapping) -> None:
    """One chunk: its events (or products), its errors and the import's resume point, in
    one transaction."""
    current = FileImport.objects.select_for_update().get(pk=imp.pk)
    if current.status != FileImport.Status.RUNNING or current.bytes_done != imp.bytes_done:
        raise _Superseded
    store = _store_products if mapping.row_kind == products.ROW_KIND else _store_messages
    stored, duplicates, errors = store(imp=imp, rows=rows, mapping=mapping)
    errors.sort(key=lambda e: e["line"] or 0)
    kept = current.errors + errors[: max(0, MAX_ERRORS_KEPT - len(current.errors))]
    last = rows[-1]
    current.bytes_done = last.end_offset
    current.lines_done = last.end_line
    current.rows_done += len(rows)
    current.stored += stored
    current.duplicates += duplicates
    current.error_count += len(errors)
    current.errors = kept
    current.save(
        update_fields=[
            "bytes_done",
            "lines_done",
            "rows_done",
            "stored",
            "duplicates",
            "error_count",
            "errors",
        ]
    )
    imp.bytes_done = current.bytes_done
    imp.lines_done = current.lines_done


def _store_messages(*, imp: FileImport, rows: list, mapping: Mapping) -> tuple[int, int, list]:
    """The chunk's rows as events: (stored, duplicates, errors by line)."""
    errors, messages, lines = [], [], {}
    for row in rows:
        if row.values is None:
            errors.append({"line": row.line, "message": row.error})
            continue
        context = {"library": LIBRARY, "fileImport": {"id": imp.pk, "line": row.line}}
        try:
            message = to_message(
                row.values,
                mapping=mapping,
                source_id=imp.source_id,
                file_sha256=imp.sha256,
                line=row.line,
                context=context,
            )
        except RowError as exc:
            errors.append({"line": row.line, "message": str(exc)})
            continue
        messages.append(message)
        lines[id(message)] = row.line
    # An admin uploaded the file: its rows are believed as a server source's calls.
    result = ingest_messages(source_id=imp.source_id, messages=messages, trust=SERVER)
    for rejection in result.rejections:
        errors.append({"line": lines.get(id(rejection.payload)), "message": rejection.reason})
    return result.stored, result.duplicates, errors


def _store_products(*, imp: FileImport, rows: list, mapping: Mapping) -> tuple[int, int, list]:
    """The chunk's rows as the source's products, keyed by SKU: (stored, unchanged, errors
    by line). Each is as new as the upload, so a later file's row wins over an earlier's."""
    errors, found, lines = [], [], {}
    updated_at = imp.created_at.isoformat()
    for row in rows:
        if row.values is None:
            errors.append({"line": row.line, "message": row.error})
            continue
        try:
            product = products.to_product(row.values, mapping=mapping, updated_at=updated_at)
        except RowError as exc:
            errors.append({"line": row.line, "message": str(exc)})
            continue
        found.append(product)
        lines[id(product)] = row.line
    result = upsert_products(source_id=imp.source_id, rows=found)
    for rejection in result.rejections:
        errors.append({"line": lines.get(id(rejection.payload)), "message": rejection.reason})
    return result.stored, result.unchanged, errors
