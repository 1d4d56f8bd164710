"""File imports and the per-source column mapping (registered via integrations/models.py)."""

from django.conf import settings
from django.db import models


class ImportMapping(models.Model):
    """How a source's file columns become messages; saved per source, pre-fills the next file.

    ``fields`` is a list of {"column", "name", "type"} with type text/number/boolean/date.
    """

    class RowKind(models.TextChoices):
        IDENTIFY = "identify", "Customer row → identify with traits"
        TRACK = "track", "Order / event row → track with properties"

    source = models.OneToOneField(
        "integrations.Source", on_delete=models.CASCADE, related_name="import_mapping"
    )
    row_kind = models.CharField(max_length=10, choices=RowKind.choices, default=RowKind.IDENTIFY)
    event_name = models.CharField(max_length=200, blank=True, default="")
    user_id_column = models.CharField(max_length=200, blank=True, default="")
    anonymous_id_column = models.CharField(max_length=200, blank=True, default="")
    email_column = models.CharField(max_length=200, blank=True, default="")
    timestamp_column = models.CharField(max_length=200, blank=True, default="")
    row_key_column = models.CharField(max_length=200, blank=True, default="")
    fields = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mapping of source {self.source_id}"


class FileImport(models.Model):
    """One uploaded file and the progress of its import (committed with each chunk)."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON lines"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Waiting for a mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(
        "integrations.Source", on_delete=models.CASCADE, related_name="file_imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_name = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=100, unique=True)  # under VAR_DIR/imports
    format = models.CharField(max_length=5, choices=Format.choices)
    delimiter = models.CharField(max_length=1, blank=True, default="")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    columns = models.JSONField(default=list, blank=True)
    rows_estimate = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    mapping = models.JSONField(null=True, blank=True)  # the mapping this import runs with
    # Resume point: everything before bytes_done / lines_done is committed.
    bytes_done = models.BigIntegerField(default=0)
    lines_done = models.BigIntegerField(default=0)
    rows_done = models.BigIntegerField(default=0)
    stored = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    error_count = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # the first N: {"line", "message"}
    failure = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The stored file is deleted IMPORT_FILE_RETENTION_DAYS after the import ended; the row,
    # its counts and its error report stay.
    file_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["source", "-id"], name="fileimport_source_id_idx")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def running(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.size_bytes:
            return 0
        return min(100, int(self.bytes_done * 100 / self.size_bytes))
