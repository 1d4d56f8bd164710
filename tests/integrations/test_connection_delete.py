"""Deleting a connection: from its page (a confirmation first) and from the API, against a
real local JSON API. What it brought stays (events, profiles, its source archived); what
it kept to read (credentials, cursors, runs, dropped-file records) goes; a run going on
is cancelled, and a slice storing a page finishes it first."""

import threading

import pytest
from django.db import connection as db
from django.db import transaction

from cdp_site.models import AuditEntry
from cdp_site.permissions import ADMIN, MARKETER
from integrations.connectors import registry, services, sync
from integrations.connectors.base import Field, Kind, Page, Stream
from integrations.connectors.models import Connection, DroppedFile, StreamState, SyncRun
from integrations.models import Event, Source
from tests.support.connectors import drive
from tests.support.threads import in_background

from . import test_connection_api
from .test_connector_sync import connect

pytestmark = pytest.mark.django_db

API = test_connection_api.API
api = test_connection_api.api  # the fixture: the REST imitation with 12 customers


def a_dropped_file(connection: Connection) -> DroppedFile:
    return DroppedFile.objects.create(
        connection=connection, name="a.csv", size=10, mtime=1.0, status="imported"
    )


def test_deleting_removes_what_it_kept_to_read_and_keeps_what_it_brought(api, make_user):
    connection = connect(api, page_size=5)
    drive(services.start_run(connection=connection))
    running = services.start_run(connection=connection)
    a_dropped_file(connection)
    source, admin = connection.source, make_user(ADMIN)
    services.delete_connection(connection=connection, by=admin)
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert not SyncRun.objects.exists() and not StreamState.objects.exists()
    assert not DroppedFile.objects.exists()
    # The customers' data stays, under its source, archived (and so refused from now on).
    assert Event.objects.filter(source_id=source.pk).count() == 12
    source.refresh_from_db()
    assert source.archived_at is not None and not source.enabled
    # The audit trail says who deleted it, which run it cancelled and what went with it.
    (entry,) = AuditEntry.objects.filter(action="connection.delete")
    assert (entry.actor_id, entry.actor_role) == (admin.pk, ADMIN)
    assert (entry.target_type, entry.target_id) == ("integrations.connection", str(connection.pk))
    assert entry.details == {
        "kind": "rest",
        "source": source.pk,
        "cancelled_run": running.pk,
        "deleted": {
            "integrations.connection": 1,
            "integrations.droppedfile": 1,
            "integrations.streamstate": 1,
            "integrations.syncrun": 2,
        },
    }


def test_a_run_going_on_is_cancelled_and_its_next_slice_stores_nothing(api):
    connection = connect(api, page_size=5)
    run = services.start_run(connection=connection)
    assert sync.run_slice(run_id=run.id, seq=0).seq == 1  # one page stored
    services.delete_connection(connection=connection, by=None)
    assert sync.run_slice(run_id=run.id, seq=1) == sync.DONE
    assert Event.objects.count() == 5  # the page it stored stays
    assert len(api.requests) == 1  # the late slice read nothing


def test_a_deletion_during_a_read_drops_the_late_page_and_its_new_token_quietly(monkeypatch):
    def read(reader, *, stream, cursor):
        # The admin deletes the connection while the service answers; the service also
        # issued a new token, which the read keeps as a kind does.
        services.delete_connection(connection=connection, by=None)
        reader.save_secrets({"api_key": "issued-during-the-read"})
        return Page([{"id": "1"}], {"page": 2}, done=False)

    kind = Kind(
        key="slow_crm",
        label="Slow CRM",
        source_kind="crm",
        default_base_url="https://crm.example.com/",
        streams=(Stream("people", "People", "$.id", "identify", "userId = $.id"),),
        read=read,
        check=lambda reader: None,
        secrets=(Field("api_key", "API key"),),
    )
    monkeypatch.setitem(registry.KINDS, "slow_crm", kind)
    connection = services.create_connection(name="CRM", kind="slow_crm", secrets={"api_key": "k"})
    run = services.start_run(connection=connection)
    assert sync.run_slice(run_id=run.id, seq=0) == sync.DONE  # its run is gone: stale
    assert not Event.objects.exists() and not Connection.objects.exists()


def test_the_page_confirms_what_goes_and_what_stays_then_deletes(client_as, api):
    connection = connect(api, page_size=5)
    drive(services.start_run(connection=connection))
    running = services.start_run(connection=connection)
    admin = client_as(ADMIN)
    base = f"/integrations/connections/{connection.pk}"
    assert f'href="{base}/delete/"' in admin.get(f"{base}/").content.decode()
    confirm = admin.get(f"{base}/delete/").content.decode()
    assert f"Run #{running.pk}, going now, is cancelled" in confirm
    assert "its 2 runs with their rejected records" in confirm
    assert "the 12 events it stored and the profiles built from them stay" in confirm
    assert 'method="post"' in confirm and "csrfmiddlewaretoken" in confirm
    assert Connection.objects.filter(pk=connection.pk).exists()  # GET deletes nothing
    done = admin.post(f"{base}/delete/")
    assert done.status_code == 302 and done["Location"] == "/integrations/connections/"
    assert not Connection.objects.exists() and Event.objects.count() == 12
    assert "Deleted connection “Partner API”." in admin.get(done["Location"]).content.decode()


def test_marketers_can_neither_see_nor_use_the_deletion(client_as, api):
    connection = connect(api)
    marketer = client_as(MARKETER)
    assert marketer.get(f"/integrations/connections/{connection.pk}/delete/").status_code == 403
    assert marketer.post(f"/integrations/connections/{connection.pk}/delete/").status_code == 403
    assert marketer.delete(f"{API}{connection.pk}").status_code == 403
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_api_delete_answers_204_then_404_and_archives_the_source(client_as, api):
    connection = connect(api)
    services.start_run(connection=connection)
    admin = client_as(ADMIN)
    assert admin.delete(f"{API}{connection.pk}").status_code == 204
    assert AuditEntry.objects.get(action="connection.delete").actor_role == ADMIN
    assert admin.get(f"{API}{connection.pk}").status_code == 404
    assert admin.delete(f"{API}{connection.pk}").status_code == 404
    assert Source.objects.get(pk=connection.source_id).archived_at is not None
    assert not SyncRun.objects.exists()
    # The request's transaction goes on without the deletion's lock timeout.
    with db.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.django_db(transaction=True)
def test_a_slice_storing_a_page_too_long_makes_the_deletion_answer_409(client_as, api, monkeypatch):
    connection = connect(api)
    run = services.start_run(connection=connection)
    monkeypatch.setattr(services, "DELETE_LOCK_TIMEOUT_MS", 200)
    locked, release = threading.Event(), threading.Event()

    def storing_a_page():  # what a slice does while it stores: it holds its run's row
        with transaction.atomic():
            SyncRun.objects.select_for_update().get(pk=run.pk)
            locked.set()
            release.wait(10)

    admin = client_as(ADMIN)
    worker = in_background(storing_a_page)
    try:
        assert locked.wait(10)
        busy = admin.delete(f"{API}{connection.pk}")
    finally:
        release.set()
        worker.join(10)
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "run_storing"
    assert "storing a page right now" in busy.json()["error"]["message"]
    assert Connection.objects.filter(pk=connection.pk).exists()
    assert Source.objects.get(pk=connection.source_id).archived_at is None
    # The page stored, the deletion goes through.
    assert admin.delete(f"{API}{connection.pk}").status_code == 204
