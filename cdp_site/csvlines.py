"""Reading uploaded CSV files a line at a time, never whole: the one reader behind file
imports (integrations/imports) and uploaded lists (segments/static_lists).

``Lines`` decodes a file opened in binary mode line by line (a BOM is fine), counting
physical lines and bytes, so that a caller can report a row by the line it starts at and
resume an import at the byte just past a row; a line that is not UTF-8 is decoded with
replacement characters and remembered. ``rows`` gives each CSV row with its lines, or
the reason it cannot be read, and goes on after a broken row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"
DELIMITERS = ",;\t|"
# The csv module's limit is one per process: every reader here shares this value.
csv.field_size_limit(10 * 1024 * 1024)


class Lines:
    """Decoded lines of a binary (or text) file from ``offset``, where ``line`` physical
    lines lie before it."""

    def __init__(self, file, *, offset: int = 0, line: int = 0):
        self.file = file
        self.offset = offset
        self.line = line
        self.bad: set[int] = set()  # lines that were not UTF-8

    def __iter__(self):
        return self

    def __next__(self) -> str:
        raw = self.file.readline()
        if not raw:
            raise StopIteration
        self.line += 1
        if isinstance(raw, str):
            self.offset += len(raw.encode())
            return raw.removeprefix("\ufeff") if self.line == 1 else raw
        self.offset += len(raw)
        if self.line == 1:
            raw = raw.removeprefix(BOM)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.bad.add(self.line)
            return raw.decode("utf-8", "replace")

    def not_utf8_since(self, start: int) -> str:
        """The error for the first line from ``start`` to the last read that was not
        UTF-8, or ""."""
        bad = next((n for n in range(start, self.line + 1) if n in self.bad), None)
        return "" if bad is None else not_utf8(bad)


def not_utf8(line: int) -> str:
    return f"Line {line} is not valid UTF-8."


def likeliest_delimiter(header: str) -> str:
    """The delimiter a header line uses most (a comma when it has none)."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int  # the physical line the row starts at
    end_line: int  # its last physical line (a quoted value may hold line breaks)
    end_offset: int  # the byte just past the row: where a resumed reading goes on
    cells: list[str] | None  # None when the row cannot be read
    error: str = ""


def rows(lines: Lines, *, delimiter: str, first: str | None = None) -> Iterator[CsvRow]:
    """The CSV rows of ``lines``, beginning with ``first`` (a line the caller has already
    read, e.g. to look at the header) when given. Blank rows are skipped; a row the csv
    module cannot parse or with a line that is not UTF-8 comes with its error, and the
    reading goes on at the next line."""
    pending = first is not None
    source = _chain(first, lines) if pending else lines
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    while True:
        start = lines.line + (0 if pending else 1)
        pending = False
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The reader is unusable after a parse error: go on from the next line.
            yield CsvRow(start, lines.line, lines.offset, None, f"Unreadable CSV row: {exc}.")
            reader = csv.reader(lines, delimiter=delimiter, strict=True)
            continue
        if not cells or all(not c.strip() for c in cells):
            continue
        error = lines.not_utf8_since(start)
        yield CsvRow(start, lines.line, lines.offset, None if error else cells, error)


def _chain(first: str, lines: Lines) -> Iterator[str]:
    yield first
    yield from lines
