"""Static segments: a list of people uploaded as a CSV file.

Public functions (keyword-only; the API and the segment's detail page call them):

``create_static_segment(*, name, description="", created_by=None) -> Segment``
    An empty uploaded-list segment.

``import_csv(*, segment, file, kind=None, mode="replace") -> UploadResult``
    Sets the members of the static ``segment`` from ``file``, a binary file-like object
    (a Django ``UploadedFile``, an open file, ``io.BytesIO``), read line by line: the
    file is never held in memory. The file is UTF-8 (a BOM is fine); the delimiter (comma,
    semicolon, tab or pipe) is detected from the header line. Its columns are either

    * one column per identifier kind, named after the kind (``email``, ``user_id``,
      ``phone``, ``crm_id``...; its label or a trait key carrying it also works, e.g.
      ``E-mail`` or ``crmId``); other columns (``name``...) are ignored, and a row matches
      by its strongest identifier found; or
    * two columns ``kind,value``; or
    * with ``kind`` given (an identifier kind's name): the values of that kind in the
      column named ``kind``/``value``, or the first column; the header line may be left
      out then.

    Values are normalised like incoming events' (``profiles.identifiers``), looked up
    (kind, value) → identity → its active profile (following merges). ``mode="replace"``
    makes the list the members (those not in it exit); ``"add"`` only adds. Every entry
    and exit is recorded in the history with the reason "uploaded list", and rule-based
    segments that refer to the list follow at once (for the people who moved). Rows not found or
    malformed are reported by line number (``UploadResult.problems``, the first
    ``MAX_PROBLEMS``; the counts are complete). A file that cannot be read at all (not
    UTF-8 in its header, no identifier column, an unknown ``kind``) raises
    ``ListFileError`` (a ``SegmentError`` whose field is ``file``/``kind``) and changes
    nothing; so does a call on a rule-based segment.

``create_static_segment_from_csv(*, name, file, kind=None, description="",
created_by=None) -> tuple[Segment, UploadResult]``
    Both in one transaction: an unreadable file creates no segment.
"""

from __future__ import annotations

import contextlib
import csv
import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from cdp_site import csvlines
from cdp_site.csvlines import CsvRow, Lines, likeliest_delimiter, not_utf8
from cdp_site.text import unstorable
from profiles import selectors as profile_selectors
from profiles.identifiers import KindRule, Rules, load_rules, normalize
from profiles.models import IdentifierKind, Identity

from . import membership, realtime
from .membership import membership_changed
from .models import Segment
from .services import SegmentError

REASON = "uploaded list"
BATCH = 2000
MAX_PROBLEMS = 1000
VALUE_COLUMNS = ("value", "identifier", "id")


class ListFileError(SegmentError):
    """The file cannot be used at all; nothing was changed."""

    def __init__(self, message: str, *, field_name: str = "file"):
        super().__init__([{"field": field_name, "message": message}])


@dataclass
class UploadResult:
    rows: int = 0  # data rows read (blank lines skipped)
    matched: int = 0  # rows that found a profile
    not_found: int = 0
    malformed: int = 0
    members: int = 0  # distinct profiles in the list
    entered: int = 0
    exited: int = 0
    problems: list[dict] = field(default_factory=list)  # {"line", "value", "error"}

    def add(self, problem: _Problem) -> None:
        if problem.missing:
            self.not_found += 1
        else:
            self.malformed += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                {"line": problem.line, "value": problem.value[:200], "error": problem.error}
            )


@dataclass(frozen=True)
class _Problem:
    line: int
    value: str
    error: str
    missing: bool = False


# --- reading the file ---------------------------------------------------------------------


# --- columns --------------------------------------------------------------------------


def _kind_names(rules: Rules) -> dict[str, str]:
    """Column name (folded) → identifier kind name."""

    names = {}
    for key, kind in rules.trait_kinds.items():
        names[_fold(key)] = kind
    for name, label in IdentifierKind.objects.values_list("name", "label"):
        names[_fold(label)] = name
        names[_fold(name)] = name
    return names


def _fold(text: str) -> str:
    return "".join(ch for ch in text.strip().lower() if ch.isalnum())


@dataclass
class _Layout:
    by_column: list[tuple[int, KindRule]]  # (column index, kind), strongest kind first
    kind_column: int | None = None  # the "kind,value" layout
    value_column: int | None = None
    names: dict[str, str] = field(default_factory=dict)  # folded column name → kind name


def _layout(header: list[str] | None, rules: Rules, kind: str | None) -> _Layout:
    if kind is not None:
        rule = rules.kinds[kind]
        column = 0
        if header is not None:
            folded = [_fold(c) for c in header]
            for wanted in (_fold(kind), _fold(rule.name), *VALUE_COLUMNS):
                if wanted in folded:
                    column = folded.index(wanted)
                    break
        return _Layout(by_column=[(column, rule)])
    folded = [_fold(c) for c in header]
    names = _kind_names(rules)
    if "kind" in folded and "value" in folded:
        return _Layout([], folded.index("kind"), folded.index("value"), names)
    found, seen = [], set()
    for i, column in enumerate(folded):
        name = names.get(column)
        if name in rules.kinds and name not in seen:
            seen.add(name)
            found.append((i, rules.kinds[name]))
    if not found:
        known = ", ".join(sorted(rules.kinds))
        raise ListFileError(
            f"No identifier column in the first line. Name a column after an identifier "
            f"kind ({known}), or use two columns kind,value."
        )
    found.sort(key=lambda item: -item[1].priority)
    return _Layout(found)


def _looks_like_header(cells: list[str], kind: str, rules: Rules) -> bool:
    folded = {_fold(c) for c in cells}
    words = {_fold(kind), _fold(rules.kinds[kind].name), "kind", *VALUE_COLUMNS}
    return bool(folded & words) or bool(folded & set(_kind_names(rules)))


# --- matching -------------------------------------------------------------------------


@dataclass
class _Wanted:
    line: int
    shown: str  # the value as written, for the report
    candidates: list[tuple[int, str]]  # (kind id, normalised value), strongest first


def _candidates(row: CsvRow, layout: _Layout, rules: Rules) -> _Wanted | _Problem:
    """The identifiers a row offers, or why it offers none."""
    cells = row.cells
    if unstorable(cells):  # shown without its text: the report itself is stored
        return _Problem(row.line, "", "The row holds a character that cannot be stored.")
    if layout.kind_column is not None:
        need = max(layout.kind_column, layout.value_column)
        if len(cells) <= need:
            return _Problem(row.line, ",".join(cells), "Missing the kind or the value.")
        kind_name, raw = cells[layout.kind_column].strip(), cells[layout.value_column]
        kind_rule = rules.kinds.get(layout.names.get(_fold(kind_name), ""))
        if kind_rule is None:
            return _Problem(row.line, kind_name, f"Unknown identifier kind “{kind_name}”.")
        pairs = [(kind_rule, raw)]
    else:
        pairs = [(rule, cells[i]) for i, rule in layout.by_column if i < len(cells)]
    candidates, reasons, shown = [], [], []
    for kind_rule, raw in pairs:
        if not raw.strip():
            continue
        shown.append(raw.strip())
        value, why = normalize(kind_rule, raw, rules)
        if value is None:
            reasons.append(f"{kind_rule.name} {why}")
        else:
            candidates.append((kind_rule.id, value))
    if not candidates:
        message = "; ".join(reasons).capitalize() + "." if reasons else "No identifier."
        return _Problem(row.line, " ".join(shown), message)
    return _Wanted(row.line, " ".join(shown), candidates)


def _resolve(batch: list[_Wanted]) -> dict[tuple[int, str], int]:
    """(kind id, value) → active profile id, for the identities that exist."""
    by_kind: dict[int, set[str]] = {}
    for wanted in batch:
        for kind_id, value in wanted.candidates:
            by_kind.setdefault(kind_id, set()).add(value)
    found = {}
    for kind_id, values in by_kind.items():
        rows = Identity.objects.filter(kind_id=kind_id, value__in=values).values_list(
            "value", "profile_id", "profile__merged_into_id"
        )
        for value, profile_id, merged_into in rows:
            if merged_into is not None:
                profile_id = profile_selectors.active_profile_id(profile_id=merged_into)
            if profile_id is not None:
                found[(kind_id, value)] = profile_id
    return found


# --- applying -------------------------------------------------------------------------

# The same statement as a rule's membership, fed by the uploaded profiles; "add" leaves
# the members not in the file where they are. A list is someone's act, never a connector's
# history: no change it makes is marked backfill.
APPLY_SQL = membership.APPLY_SQL.format(
    wanted="SELECT DISTINCT profile_id AS id FROM segments_upload_ids",
    scope="AND %(replace)s",
)


def create_static_segment(*, name: str, description: str = "", created_by=None) -> Segment:
    if not (name or "").strip():
        raise SegmentError([{"field": "name", "message": "Enter a name."}])
    return Segment.objects.create(
        name=name.strip()[:120],
        description=description,
        kind=Segment.Kind.STATIC,
        rule={},
        created_by=created_by,
    )


@transaction.atomic
def create_static_segment_from_csv(
    *, name: str, file, kind: str | None = None, description: str = "", created_by=None
) -> tuple[Segment, UploadResult]:
    segment = create_static_segment(name=name, description=description, created_by=created_by)
    return segment, import_csv(segment=segment, file=file, kind=kind)


@transaction.atomic
def import_csv(*, segment: Segment, file, kind: str | None = None, mode: str = "replace"):
    """See the module docstring. Returns an ``UploadResult``."""
    if segment.kind != Segment.Kind.STATIC:
        raise SegmentError(
            [
                {
                    "field": "segment",
                    "message": "Only an uploaded-list segment "
                    "takes a file; this one follows its rule.",
                }
            ]
        )
    if mode not in ("replace", "add"):
        raise SegmentError([{"field": "mode", "message": "Choose replace or add."}])
    rules = load_rules()
    if kind is not None and kind not in rules.kinds:
        known = ", ".join(sorted(rules.kinds))
        raise ListFileError(f"Unknown identifier kind; choose one of {known}.", field_name="kind")
    started = time.monotonic()
    Segment.objects.select_for_update().filter(pk=segment.pk).first()  # one upload at a time
    if hasattr(file, "seek"):
        with contextlib.suppress(OSError, ValueError):
            file.seek(0)
    lines = Lines(file)
    first = next(lines, None)
    if first is None or not first.strip():
        raise ListFileError("The file is empty.")
    if 1 in lines.bad:
        raise ListFileError(f"{not_utf8(1)} Save the file as UTF-8.")
    delimiter = likeliest_delimiter(first)
    head = next(csv.reader([first], delimiter=delimiter), [])
    header = head
    if kind is not None and not _looks_like_header(head, kind, rules):
        header = None
    layout = _layout(header, rules, kind)
    rows = csvlines.rows(lines, delimiter=delimiter, first=first if header is None else None)

    result = UploadResult()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS segments_upload_ids (profile_id bigint) ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE segments_upload_ids")
        batch: list[_Wanted | _Problem] = []
        for row in rows:
            result.rows += 1
            if row.cells is None:
                batch.append(_Problem(row.line, "", row.error))
            else:
                batch.append(_candidates(row, layout, rules))
            if len(batch) >= BATCH:
                _store(cursor, batch, result)
                batch = []
        _store(cursor, batch, result)
        cursor.execute("SELECT count(DISTINCT profile_id) FROM segments_upload_ids")
        result.members = cursor.fetchone()[0]
        now = timezone.now()
        cursor.execute(
            APPLY_SQL,
            {
                "segment": segment.pk,
                "now": now,
                "reason": REASON,
                "replace": mode == "replace",
                **membership.NOT_BACKFILL,
            },
        )
        changes = cursor.fetchall()
        cursor.execute("DROP TABLE segments_upload_ids")
    result.entered = sum(1 for _, change in changes if change == "entered")
    result.exited = len(changes) - result.entered
    _record(segment, changes, now=now, started=started)
    return result


def _record(segment: Segment, changes: list[tuple[int, str]], *, now, started: float) -> None:
    """After a list's members changed: its size, its status, the change signal, and the
    rule-based segments that refer to it."""
    membership.record_size(segment, now=now, started=started, updated_at=now)
    if changes:
        sent = [(segment.pk, pid, change) for pid, change in changes]
        transaction.on_commit(lambda: membership_changed.send(sender=Segment, changes=sent))
        _cascade(segment, {pid for pid, _ in changes})
    segment.refresh_from_db()


PROFILES_SQL = membership.APPLY_SQL.format(
    wanted="SELECT p.id FROM profiles_profile p "
    "WHERE p.id = ANY(%(ids)s) AND p.merged_into_id IS NULL",
    scope="",
)


@transaction.atomic
def create_static_segment_of(
    *, name: str, profile_ids: list[int], reason: str, description: str = "", created_by=None
) -> Segment:
    """A static segment of these profiles (the people behind a report's number, say);
    ``reason`` is each entry's reason in the membership history. Merged-away or deleted
    profiles are left out."""
    started = time.monotonic()
    segment = create_static_segment(name=name, description=description, created_by=created_by)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            PROFILES_SQL,
            {
                "segment": segment.pk,
                "now": now,
                "reason": reason[:200],
                "ids": list(profile_ids),
                **membership.NOT_BACKFILL,
            },
        )
        changes = cursor.fetchall()
    _record(segment, changes, now=now, started=started)
    return segment


def _cascade(segment: Segment, changed: set[int]) -> None:
    """Rule-based segments that refer to this list (directly or through others) look
    again at the people who entered or left it, dependencies first, as in real time."""
    moved = {segment.pk: changed}
    for other in realtime.ordered_segments():
        ids = set()
        for ref in realtime.referenced(other):
            ids |= moved.get(ref, set())
        if not ids:
            continue
        rows = membership.apply(
            other, profile_ids=sorted(ids), reason="uploaded list changed", backfill=()
        )
        if rows:
            moved[other.pk] = {pid for pid, _ in rows}
            membership.refresh_count(other)


def _store(cursor, batch: list[_Wanted | _Problem], result: UploadResult) -> None:
    """Resolves a batch of rows, reporting problems in line order."""
    if not batch:
        return
    found = _resolve([w for w in batch if isinstance(w, _Wanted)])
    ids = []
    for wanted in batch:
        if isinstance(wanted, _Problem):
            result.add(wanted)
            continue
        profile_id = next((found[c] for c in wanted.candidates if c in found), None)
        if profile_id is None:
            result.add(
                _Problem(wanted.line, wanted.shown, "No profile has this identifier.", missing=True)
            )
        else:
            result.matched += 1
            ids.append(profile_id)
    if ids:
        cursor.execute(
            "INSERT INTO segments_upload_ids (profile_id) SELECT unnest(%s::bigint[])", [ids]
        )
