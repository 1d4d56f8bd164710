"""Reading uploaded files without loading them: storage, sniffing, and a resumable row stream.

Rows come from ``iter_rows``, a generator over the binary file read line by line. After
each row it reports the byte offset just past that row, so an import can commit the
offset with each chunk and a retried task can ``seek`` straight back to it.
"""

import csv
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from cdp_site import csvlines
from cdp_site.csvlines import BOM, DELIMITERS, Lines, likeliest_delimiter
from cdp_site.text import unstorable

SAMPLE_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
PREVIEW_ROWS = 10


class FileError(Exception):
    """The file cannot be imported at all (encoding, format, size); the message says why."""


def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", 2 * 1024**3))


@dataclass(frozen=True)
class StoredFile:
    name: str  # file name under imports_dir()
    size: int
    sha256: str


def store_upload(chunks) -> StoredFile:
    """Writes an iterable of byte chunks (e.g. ``UploadedFile.chunks()``) to disk, hashing it."""
    limit = max_bytes()
    name = f"{uuid.uuid4().hex}.upload"
    path = imports_dir() / name
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise FileError(f"The file is larger than {limit // 1024**2} MB.")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise FileError("The file is empty.")
    return StoredFile(name=name, size=size, sha256=digest.hexdigest())


def path_of(name: str) -> Path:
    return imports_dir() / Path(name).name


def _read_sample(path: Path) -> bytes:
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
        if len(sample) == SAMPLE_BYTES:  # cut at the last complete line
            cut = sample.rfind(b"\n")
            sample = sample[: cut + 1] if cut > 0 else sample
    return sample.removeprefix(BOM)


def _decode_sample(sample: bytes) -> str:
    try:
        return sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = sample[: exc.start].count(b"\n") + 1
        raise FileError(
            f"Line {line} is not valid UTF-8. Save the file as UTF-8 (with or without BOM)."
        ) from None


def detect_format(original_name: str, text: str) -> str:
    if original_name.lower().endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return likeliest_delimiter(text.splitlines()[0] if text else "")


@dataclass(frozen=True)
class Inspection:
    format: str
    delimiter: str
    columns: list[str]
    preview: list[dict]
    rows_estimate: int


def inspect(*, name: str, original_name: str, size: int, fmt: str | None = None) -> Inspection:
    """Format (``fmt``, or detected), delimiter, columns, the first rows and a row-count
    estimate from a sample."""
    path = path_of(name)
    text = _decode_sample(_read_sample(path))
    fmt = fmt or detect_format(original_name, text)
    delimiter = sniff_delimiter(text) if fmt == "csv" else ""
    header = read_header(path, fmt=fmt, delimiter=delimiter)
    preview, columns = [], list(header)
    for row in iter_rows(path, fmt=fmt, delimiter=delimiter, header=header):
        if row.values is not None:
            preview.append(row.values)
            columns += [key for key in row.values if key not in columns]
        if row.end_line >= PREVIEW_ROWS + 1 or len(preview) >= PREVIEW_ROWS:
            break
    if not columns:
        raise FileError("No columns found: the first line must name the columns.")
    if unstorable(columns):
        raise FileError("A column name holds a NUL character: is this a text file?")
    lines = max(text.count("\n"), 1)
    estimate = max(1, round(size * lines / max(len(text.encode()), 1)) - (fmt == "csv"))
    return Inspection(fmt, delimiter, columns, preview, estimate)


def read_header(path: Path, *, fmt: str, delimiter: str) -> list[str]:
    if fmt != "csv":
        return []
    with path.open("rb") as f:
        first = f.readline().removeprefix(BOM)
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError:
        raise FileError("Line 1 (the header) is not valid UTF-8.") from None
    header = next(csv.reader([line], delimiter=delimiter), [])
    columns = [c.strip() for c in header]
    if not any(columns):
        raise FileError("Line 1 must name the columns.")
    return columns


@dataclass(frozen=True, slots=True)
class FileRow:
    line: int  # 1-based physical line where the row starts
    end_line: int  # last physical line of the row
    end_offset: int  # byte offset just past the row: where a resumed import continues
    values: dict | None  # column → value, or None when the row is broken
    error: str = ""


def iter_rows(
    path: Path, *, fmt: str, delimiter: str, header: list[str], offset: int = 0, line: int = 0
) -> Iterator[FileRow]:
    """Rows from byte ``offset`` (0: the start; the CSV header line is skipped there).

    ``line`` is the number of physical lines before ``offset``. Never reads the whole file.
    """
    with path.open("rb") as f:
        f.seek(offset)
        lines = Lines(f, offset=offset, line=line)
        if fmt == "csv":
            if offset == 0:
                next(lines, None)  # the header
            yield from _csv_rows(lines, delimiter=delimiter, header=header)
        else:
            yield from _jsonl_rows(lines)


def _csv_rows(lines: Lines, *, delimiter: str, header: list[str]) -> Iterator[FileRow]:
    for row in csvlines.rows(lines, delimiter=delimiter):
        error = row.error
        if not error and len(row.cells) != len(header):
            error = f"Expected {len(header)} columns, found {len(row.cells)}."
        values = None if error else dict(zip(header, row.cells, strict=True))
        yield FileRow(row.line, row.end_line, row.end_offset, values, error)


def _jsonl_rows(lines: Lines) -> Iterator[FileRow]:
    for text in lines:
        number = lines.line
        if not text.strip():
            continue
        error, values = lines.not_utf8_since(number), None
        if not error:
            try:
                values = json.loads(text)
            except (ValueError, RecursionError):
                error = "Not valid JSON."
            else:
                if not isinstance(values, dict):
                    values, error = None, "Each line must be a JSON object."
        yield FileRow(number, number, lines.offset, values, error)
