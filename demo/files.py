"""The partner's and the data provider's files: written under var/demo/, then imported.

They go through the file import (upload, column mapping, chunked run), the path a
customer's own files take. The same file is not imported twice: its hash is checked
first, and a replay would be absorbed by the import's row-key message ids anyway.
"""

from __future__ import annotations

import csv
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from integrations.imports import services as imports
from integrations.imports.mapping import Mapping
from integrations.imports.models import FileImport
from integrations.models import Source

from .profile_files import PARTNER_COLUMNS, PROVIDER_COLUMNS

WAIT_FOR_WORKER_SECONDS = 600


def _fields(*pairs: tuple[str, str, str]) -> list[dict]:
    return [{"column": c, "name": n, "type": t} for c, n, t in pairs]


# Each row is a person: identify, keyed by the file's own record id.
MAPPINGS = {
    "partner": Mapping(
        row_kind="identify",
        user_id_column="member_id",
        email_column="email",
        row_key_column="member_id",
        fields=_fields(
            ("member_id", "peakPassMemberId", "text"),
            ("phone", "phone", "text"),
            ("first_name", "firstName", "text"),
            ("last_name", "lastName", "text"),
            ("postal_code", "postalCode", "text"),
            ("household_size", "householdSize", "number"),
            ("interests", "interests", "text"),
            ("pass_type", "passType", "text"),
            ("member_since", "memberSince", "number"),
        ),
    ),
    "provider": Mapping(
        row_kind="identify",
        email_column="email",
        row_key_column="record_id",
        fields=_fields(
            ("record_id", "providerRecordId", "text"),
            ("first_name", "firstName", "text"),
            ("last_name", "lastName", "text"),
            ("age_range", "ageRange", "text"),
            ("income_band", "incomeBand", "text"),
            ("homeowner", "homeowner", "text"),
            ("marital_status", "maritalStatus", "text"),
            ("children_in_household", "childrenInHousehold", "text"),
            ("company_name", "companyName", "text"),
            ("industry", "industry", "text"),
            ("company_size", "companySize", "text"),
            ("job_title", "jobTitle", "text"),
        ),
    ),
}
COLUMNS = {"partner": PARTNER_COLUMNS, "provider": PROVIDER_COLUMNS}


def demo_dir() -> Path:
    path = Path(settings.VAR_DIR) / "demo"
    path.mkdir(parents=True, exist_ok=True)
    return path


class FileWriters:
    """One CSV per file channel, written row by row as the simulation streams."""

    def __init__(self, *, seed: int, customers: int):
        self.paths, self.rows, self._files, self._writers = {}, {}, {}, {}
        for channel, columns in COLUMNS.items():
            path = demo_dir() / f"{channel}-seed{seed}-{customers}.csv"
            handle = path.open("w", newline="", encoding="utf-8")
            self._files[channel], self.paths[channel], self.rows[channel] = handle, path, 0
            self._writers[channel] = csv.DictWriter(handle, fieldnames=columns)
            self._writers[channel].writeheader()

    def write(self, channel: str, row: dict) -> None:
        self._writers[channel].writerow(row)
        self.rows[channel] += 1

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()


@dataclass(frozen=True)
class ImportOutcome:
    rows: int
    stored: int
    duplicates: int
    errors: int
    skipped: bool  # the same file had been imported before


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def import_demo_file(*, channel: str, source: Source, path: Path) -> ImportOutcome:
    """Imports one file through the import service unless this exact file is already in."""
    done = FileImport.objects.filter(
        source=source, sha256=_sha256(path), status=FileImport.Status.DONE
    ).first()
    if done:
        return ImportOutcome(done.rows_done, 0, done.rows_done, done.error_count, skipped=True)
    started = imports.import_file(source=source, path=path, mapping=MAPPINGS[channel])
    # Run it here rather than only waiting for the Celery task: the load works without a
    # worker and its summary is final. A worker that picked the task up first is fine:
    # the import's chunk lock lets one runner commit each chunk, so wait for it to finish.
    finished = imports.run_import(import_id=started.pk)
    deadline = time.monotonic() + WAIT_FOR_WORKER_SECONDS
    while finished.running and time.monotonic() < deadline:
        time.sleep(0.5)
        finished.refresh_from_db()
    return ImportOutcome(
        finished.rows_done, finished.stored, finished.duplicates, finished.error_count, False
    )
