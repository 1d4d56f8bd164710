"""Scheduled purges of what only grows: rejected events, per-minute counts, imports'
stored files and dead letters. Old rows go, recent rows stay, nothing else is touched;
each purge is on beat's schedule."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from cdp_site.celery import app
from integrations import services
from integrations.destinations import services as destinations
from integrations.destinations.models import DeadLetter
from integrations.imports import files
from integrations.imports import services as imports
from integrations.imports.mapping import Mapping
from integrations.imports.models import FileImport
from integrations.models import RejectedEvent, Source, SourceMinuteStats

pytestmark = pytest.mark.django_db

NOW = timezone.now()
CUSTOMERS = Mapping(row_kind="identify", user_id_column="id", row_key_column="id")


@pytest.fixture
def source(db):
    return services.create_source(name="Shop", kind=Source.Kind.WEBSITE)


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def test_every_beat_entry_names_a_task_the_worker_knows():
    app.loader.import_default_modules()  # what a worker does at start: the tasks modules
    registered = set(app.tasks)
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled - registered == set()
    assert {
        "integrations.tasks.purge_rejected_events",
        "integrations.tasks.purge_minute_stats",
        "integrations.imports.tasks.purge_import_files",
        "integrations.destinations.tasks.purge_dead_letters",
        "campaigns.tasks.purge_step_logs",
    } <= scheduled


def test_rejected_events_past_their_retention_go(source, settings):
    settings.COLLECT_REJECTED_RETENTION_DAYS = 7
    other = services.create_source(name="App", kind=Source.Kind.MOBILE_APP)
    for src, days in [(source, 8), (source, 6), (other, 30), (other, 1)]:
        RejectedEvent.objects.create(
            source=src, code="invalid", reason="r", received_at=NOW - timedelta(days=days)
        )
    assert services.purge_rejected_events(now=NOW) == 2
    left = RejectedEvent.objects.values_list("source__name", "received_at")
    assert sorted(left) == [("App", NOW - timedelta(days=1)), ("Shop", NOW - timedelta(days=6))]


def test_minute_counts_past_their_retention_go_and_the_live_chart_keeps_its_hour(source, settings):
    settings.COLLECT_MINUTE_STATS_RETENTION_DAYS = 7
    minute = NOW.replace(second=0, microsecond=0)
    for days in (30, 8, 0):
        SourceMinuteStats.objects.create(
            source_id=source.pk, minute=minute - timedelta(days=days), count=5
        )
    assert services.purge_minute_stats(now=NOW) == 2
    assert list(SourceMinuteStats.objects.values_list("minute", flat=True)) == [minute]


def test_a_retention_of_zero_keeps_everything(source, settings):
    settings.COLLECT_REJECTED_RETENTION_DAYS = 0
    settings.COLLECT_MINUTE_STATS_RETENTION_DAYS = 0
    RejectedEvent.objects.create(
        source=source, code="x", reason="r", received_at=NOW - timedelta(days=9999)
    )
    SourceMinuteStats.objects.create(source_id=source.pk, minute=NOW - timedelta(days=9999))
    assert services.purge_rejected_events(now=NOW) == 0
    assert services.purge_minute_stats(now=NOW) == 0
    assert RejectedEvent.objects.count() == SourceMinuteStats.objects.count() == 1


def _import(source, *, status, ended_days_ago=None, created_days_ago=0):
    made = imports.create_import(source=source, chunks=[b"id\n1\n2\n"], original_name="a.csv")
    if status != FileImport.Status.UPLOADED:
        imports.start_import(file_import=made, mapping=CUSTOMERS)
        imports.run_import(import_id=made.pk)
    # The clock moved on: the import ended (or was uploaded) that many days ago.
    changes = {"created_at": NOW - timedelta(days=created_days_ago)}
    if ended_days_ago is not None:
        changes.update(status=status, finished_at=NOW - timedelta(days=ended_days_ago))
    FileImport.objects.filter(pk=made.pk).update(**changes)
    return FileImport.objects.get(pk=made.pk)


def test_files_of_imports_that_ended_past_the_retention_go_and_their_report_stays(source, settings):
    settings.IMPORT_FILE_RETENTION_DAYS = 7
    old_done = _import(source, status="done", ended_days_ago=8, created_days_ago=9)
    old_failed = _import(source, status="failed", ended_days_ago=10, created_days_ago=10)
    FileImport.objects.filter(pk=old_failed.pk).update(
        errors=[{"line": 2, "message": "bad"}], error_count=1, failure="stopped"
    )
    recent = _import(source, status="done", ended_days_ago=2, created_days_ago=2)

    assert imports.purge_import_files(now=NOW) == 2

    for gone in (old_done, old_failed):
        after = FileImport.objects.get(pk=gone.pk)
        assert not files.path_of(after.stored_name).exists()
        assert after.file_deleted_at is not None
        assert (after.status, after.rows_done, after.finished_at) == (
            gone.status,
            gone.rows_done,
            gone.finished_at,
        )
    failed = FileImport.objects.get(pk=old_failed.pk)
    assert failed.errors == [{"line": 2, "message": "bad"}] and failed.failure == "stopped"
    assert files.path_of(recent.stored_name).exists()
    assert FileImport.objects.get(pk=recent.pk).file_deleted_at is None
    assert imports.purge_import_files(now=NOW) == 0  # nothing twice


def test_an_upload_that_waited_past_the_retention_for_a_mapping_fails_and_loses_its_file(
    source, settings
):
    settings.IMPORT_FILE_RETENTION_DAYS = 7
    abandoned = _import(source, status="uploaded", created_days_ago=8)
    waiting = _import(source, status="uploaded", created_days_ago=3)

    assert imports.purge_import_files(now=NOW) == 1

    after = FileImport.objects.get(pk=abandoned.pk)
    assert after.status == "failed" and "waited 7 days for a mapping" in after.failure
    assert not files.path_of(after.stored_name).exists()
    assert FileImport.objects.get(pk=waiting.pk).status == "uploaded"
    assert files.path_of(waiting.stored_name).exists()


def test_a_running_import_keeps_its_file_however_old(source, settings):
    settings.IMPORT_FILE_RETENTION_DAYS = 7
    running = _import(source, status="uploaded", created_days_ago=30)
    FileImport.objects.filter(pk=running.pk).update(status="running")
    assert imports.purge_import_files(now=NOW) == 0
    assert files.path_of(running.stored_name).exists()


def test_dead_letters_past_their_retention_go(settings):
    settings.DESTINATIONS_DEAD_LETTER_RETENTION_DAYS = 30
    hook = destinations.create_destination(
        name="Hook", kind="webhook", config={"url": "http://127.0.0.1:9/hook"}
    )
    letters = {}
    for days, replayed in [(31, True), (40, False), (29, False), (1, True)]:
        letter = destinations.record_dead_letter(
            destination=hook,
            payload={"n": days},
            idempotency_key=f"k{days}",
            error="500",
            attempts=5,
        )
        DeadLetter.objects.filter(pk=letter.pk).update(
            created_at=NOW - timedelta(days=days),
            replayed_at=NOW if replayed else None,
        )
        letters[days] = letter.pk
    assert destinations.purge_dead_letters(now=NOW) == 2
    assert set(DeadLetter.objects.values_list("pk", flat=True)) == {letters[29], letters[1]}
    hook.refresh_from_db()  # the destination itself stays
