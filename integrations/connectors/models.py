"""Connections (a source that pulls), where each of their streams stands, and sync runs
(registered with the app via integrations/models.py)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Connection(models.Model):
    """A pull source: the kind of service, where it answers, what to read and how often.

    ``config`` holds the kind's non-secret settings; secrets only encrypted in
    ``secrets_encrypted`` (a JSON object, see cdp_site/crypto.py). ``streams`` maps each
    stream the admin turned on to its mapping rules ({"rules": [...]}, webhook grammar).
    """

    source = models.OneToOneField(
        "integrations.Source", on_delete=models.CASCADE, related_name="connection"
    )
    kind = models.CharField(max_length=40)
    base_url = models.URLField(max_length=500)
    config = models.JSONField(default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, default="")
    streams = models.JSONField(default=dict, blank=True)
    # Minutes between scheduled runs; 0 runs only when asked.
    schedule_minutes = models.PositiveIntegerField(default=60)
    paused = models.BooleanField(default=False)
    # Records whose last change is older than this are history: stored with their own
    # time, but they never start journeys or event-triggered campaigns.
    trigger_after = models.DateTimeField()
    request_budget = models.PositiveIntegerField(
        default=0, help_text="Requests a minute to this service; 0: the kind's default."
    )
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source__name", "id"]
        indexes = [
            models.Index(
                fields=["next_run_at"],
                name="connection_due_idx",
                condition=Q(paused=False, next_run_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} connection of source {self.source_id}"

    def enabled_streams(self) -> list[str]:
        return [name for name, spec in self.streams.items() if spec.get("enabled", True)]


class StreamState(models.Model):
    """Where reading a stream stands: its cursor, committed with the records before it."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="states")
    stream = models.CharField(max_length=60)
    cursor = models.JSONField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "stream"], name="streamstate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.stream} of connection {self.connection_id}"


class SyncRun(models.Model):
    """One run over a connection's streams, in slices: each slice stores a page and moves
    ``slice_seq`` on in one transaction, so a repeated or late task finds it stale."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Run now"
        FULL = "full", "Full re-sync"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    streams = models.JSONField(default=list)  # the streams this run reads, in order
    stream_index = models.PositiveIntegerField(default=0)
    slice_seq = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    records_read = models.BigIntegerField(default=0)
    stored = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)  # consecutive failed attempts
    # Records of the current stream still to read, as its kind last estimated them (less
    # what was read since); None: unknown (the run page then shows no ETA).
    remaining = models.BigIntegerField(null=True, blank=True)
    waiting_until = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    # The first ERRORS_KEPT rejected records: {"stream", "reason", "record"}.
    errors = models.JSONField(default=list, blank=True)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_slice_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["connection", "-id"], name="syncrun_connection_idx")]
        constraints = [
            # One run at a time per connection: two would race for the same cursors.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=["queued", "running"]),
                name="syncrun_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"run {self.id} of connection {self.connection_id} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def current_stream(self) -> str | None:
        if self.stream_index < len(self.streams):
            return self.streams[self.stream_index]
        return None


class DroppedFile(models.Model):
    """A file a file-drop connection took from its folder, remembered so that it is taken
    once: by what it looked like there (name, size, modification time) and by its content
    (``sha256``: the same file dropped again under another name or time is a duplicate).
    """

    class Status(models.TextChoices):
        IMPORTED = "imported", "Imported"
        DUPLICATE = "duplicate", "Already imported"
        FAILED = "failed", "Could not be read"

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="dropped_files"
    )
    name = models.CharField(max_length=500)  # in the connection's folder
    size = models.BigIntegerField()
    mtime = models.FloatField()  # seconds since the epoch, as the folder reports it
    sha256 = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices)
    # The import it started (or, for a duplicate, the earlier one it repeats).
    file_import = models.ForeignKey(
        "integrations.FileImport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    error = models.CharField(max_length=500, blank=True, default="")
    moved_to = models.CharField(max_length=500, blank=True, default="")
    move_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "name", "size", "mtime"], name="droppedfile_seen_once"
            )
        ]
        indexes = [models.Index(fields=["connection", "sha256"], name="droppedfile_sha_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status}) of connection {self.connection_id}"
