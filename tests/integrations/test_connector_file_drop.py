"""File drop: a real folder and a real local SFTP server (asyncssh) polled for new CSV /
JSON-lines files, each imported once through the file import, then moved to done/.

Runs are driven slice by slice (as the Celery task does) and the imports they queue are
run by calling the import service, as its task would."""

import os
import time
from pathlib import Path

import asyncssh
import pytest

from integrations.connectors import drops, services, sync
from integrations.connectors.folders import Entry
from integrations.connectors.kinds import file_drop
from integrations.connectors.models import DroppedFile, SyncRun
from integrations.imports import services as imports
from integrations.imports.mapping import Mapping
from integrations.imports.models import FileImport
from integrations.models import Event
from tests.support.connectors import remaining_by_slice
from tests.support.sftp import SftpServer

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret"  # noqa: S105 (the test SFTP server's)

CUSTOMERS = Mapping(
    row_kind="identify",
    user_id_column="customer_id",
    email_column="email",
    row_key_column="customer_id",
    fields=[{"column": "name", "name": "name", "type": "text"}],
)


def customers(*ids: int, name="Name") -> bytes:
    lines = ["customer_id,email,name"] + [f"C{i},c{i}@example.org,{name} {i}" for i in ids]
    return ("\n".join(lines) + "\n").encode()


def drop(folder: Path, name: str, content: bytes, *, age: float = 120) -> Path:
    """A file written ``age`` seconds ago (0: just now, maybe still being written)."""
    path = folder / name
    path.write_bytes(content)
    when = time.time() - age
    os.utime(path, (when, when))
    return path


def drive(run: SyncRun, *, max_slices: int = 50) -> SyncRun:
    seq = 0
    for _ in range(max_slices):
        seq = sync.run_slice(run_id=run.id, seq=seq).seq
        if seq is None:
            run.refresh_from_db()
            return run
    raise AssertionError("the run did not end")


def poll(connection) -> SyncRun:
    return drive(services.start_run(connection=connection))


def run_imports(connection) -> list[FileImport]:
    """Runs the queued imports of the connection's source, as their tasks would."""
    queued = FileImport.objects.filter(source=connection.source, status=FileImport.Status.QUEUED)
    ids = queued.order_by("pk").values_list("pk", flat=True)
    return [imports.run_import(import_id=pk) for pk in ids]


def user_ids(connection) -> list[str]:
    return sorted(
        Event.objects.filter(source_id=connection.source_id).values_list("user_id", flat=True)
    )


@pytest.fixture
def root(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.CDP_FILE_DROP_ROOTS = [tmp_path / "drops"]
    return tmp_path / "drops"


@pytest.fixture
def folder(root):
    path = root / "partner"
    path.mkdir(parents=True)
    return path


def connect(*, mapping=CUSTOMERS, **config):
    connection = services.create_connection(
        name="Partner drop", kind="file_drop", config=config, secrets=config.pop("secrets", None)
    )
    if mapping is not None:
        imports.save_mapping(source=connection.source, mapping=mapping)
    return connection


def local(folder: Path, **config):
    return connect(location="folder", folder=str(folder), **config)


# --- a folder on this server ----------------------------------------------------------


def test_two_new_files_become_two_imports_and_move_to_done(folder):
    drop(folder, "a.csv", customers(1, 2))
    drop(folder, "b.jsonl", b'{"customer_id": "C3", "email": "c3@example.org", "name": "C"}\n')
    drop(folder, "notes.txt", b"not a data file")
    connection = local(folder)
    run = poll(connection)
    assert (run.status, run.records_read, run.stored, run.rejected) == ("succeeded", 2, 2, 0)
    done = run_imports(connection)
    assert sorted((i.original_name, i.status, i.stored) for i in done) == [
        ("a.csv", "done", 2),
        ("b.jsonl", "done", 1),
    ]
    assert user_ids(connection) == ["C1", "C2", "C3"]
    assert sorted(p.name for p in (folder / "done").iterdir()) == ["a.csv", "b.jsonl"]
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["notes.txt"]
    first = FileImport.objects.get(original_name="a.csv")
    assert (len(first.sha256), first.size_bytes) == (64, len(customers(1, 2)))


def test_each_poll_says_how_many_ready_files_are_left_for_the_eta(folder):
    for name in ("a.csv", "b.csv", "c.csv"):
        drop(folder, name, customers(1))
    run = services.start_run(connection=local(folder))
    assert remaining_by_slice(run, slices=3) == [2, 1, None]  # None: the stream is done
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_read == 3


def test_the_same_file_dropped_again_is_not_imported_twice(folder):
    connection = local(folder)
    drop(folder, "a.csv", customers(1, 2))
    poll(connection)
    drop(folder, "a.csv", customers(1, 2), age=90)  # sent again: another time, same bytes
    again = poll(connection)
    assert (again.records_read, again.stored, again.duplicates) == (1, 0, 1)
    assert FileImport.objects.filter(source=connection.source).count() == 1
    assert sorted(p.name for p in (folder / "done").iterdir()) == ["a-1.csv", "a.csv"]
    statuses = DroppedFile.objects.filter(connection=connection).values_list("status", flat=True)
    assert sorted(statuses) == ["duplicate", "imported"]


def test_a_file_left_in_place_is_remembered_and_taken_once(folder):
    connection = local(folder, when_done="leave")
    drop(folder, "a.csv", customers(1))
    assert poll(connection).stored == 1
    second = poll(connection)
    assert (second.records_read, second.stored) == (0, 0)
    assert (folder / "a.csv").exists() and not (folder / "done").exists()
    drop(folder, "a.csv", customers(1, 2))  # replaced by a new version: a new file
    assert poll(connection).stored == 1
    first, second = run_imports(connection)
    assert (first.stored, second.stored, second.duplicates) == (1, 1, 1)  # C1's row key
    assert user_ids(connection) == ["C1", "C2"]


def test_a_file_still_being_written_is_left_for_a_later_poll(folder):
    connection = local(folder, settle_seconds=60)
    path = drop(folder, "big.csv", customers(1), age=0)
    first = poll(connection)
    assert (first.records_read, "still being written" in first.note) == (0, True)
    with path.open("ab") as f:  # the upload goes on
        f.write(b"C2,c2@example.org,Name 2\n")
    assert poll(connection).records_read == 0
    # The copy is complete: scp -p sets the original's (older) time at the end.
    os.utime(path, (time.time() - 600, time.time() - 600))
    assert poll(connection).stored == 1
    run_imports(connection)
    assert user_ids(connection) == ["C1", "C2"]


def test_a_file_whose_size_changed_since_the_last_poll_waits_though_it_looks_old(folder):
    connection = local(folder, settle_seconds=60)
    path = drop(folder, "slow.csv", customers(1), age=0)
    poll(connection)
    path.write_bytes(customers(1, 2))  # a stalled upload moved on, its time looks old
    os.utime(path, (time.time() - 600, time.time() - 600))
    assert poll(connection).records_read == 0
    assert poll(connection).stored == 1


def test_a_server_clock_ahead_of_ours_delays_a_file_by_one_settle_time_only():
    now = time.time()
    ahead = Entry("a.csv", 10, now + 3600)  # written just now by a clock an hour ahead
    assert not file_drop._ready(ahead, {}, settle=60, now=now)
    seen = file_drop._observed([ahead], {}, now - 120)  # the same size two minutes ago
    assert file_drop._ready(ahead, seen, settle=60, now=now)
    grown = Entry("a.csv", 11, now + 3600)
    assert not file_drop._ready(grown, seen, settle=60, now=now)
    assert file_drop._observed([grown], seen, now) == {"a.csv": [11, now]}


def test_a_broken_row_is_reported_by_line_and_the_others_are_imported(folder):
    drop(
        folder,
        "rows.csv",
        b"customer_id,email,name\nC1,c1@example.org,A\nC2,c2@x.org\nC3,c3@example.org,C\n",
    )
    connection = local(folder)
    poll(connection)
    (done,) = run_imports(connection)
    assert (done.status, done.stored, done.error_count) == ("done", 2, 1)
    assert done.errors == [{"line": 3, "message": "Expected 3 columns, found 2."}]
    assert user_ids(connection) == ["C1", "C3"]
    assert (folder / "done" / "rows.csv").exists()


def test_a_file_in_another_encoding_fails_by_line_and_moves_to_failed(folder):
    drop(folder, "latin.csv", "customer_id,email,name\nC1,c1@example.org,José\n".encode("latin-1"))
    connection = local(folder)
    run = poll(connection)
    assert (run.stored, run.rejected) == (0, 1)
    (error,) = run.errors
    assert "Line 2 is not valid UTF-8" in error["reason"] and "encoding" in error["reason"]
    assert (folder / "failed" / "latin.csv").exists()
    assert not FileImport.objects.filter(source=connection.source).exists()
    dropped = DroppedFile.objects.get(connection=connection)
    assert dropped.status == "failed" and "Line 2" in dropped.error


def test_the_configured_encoding_is_converted_to_utf8(folder):
    drop(folder, "latin.csv", "customer_id,email,name\nC1,c1@example.org,José\n".encode("latin-1"))
    connection = local(folder, encoding="latin-1")
    assert poll(connection).stored == 1
    run_imports(connection)
    assert Event.objects.get(source_id=connection.source_id).payload["traits"]["name"] == "José"


def test_a_byte_the_configured_encoding_lacks_fails_the_file_by_line(folder):
    drop(folder, "cp.csv", b"customer_id,email,name\nC1,c1@example.org,A\nC2,c2@example.org,\x81\n")
    connection = local(folder, encoding="cp1252")
    run = poll(connection)
    assert run.rejected == 1 and run.errors[0]["reason"] == "Line 3 is not valid cp1252."
    assert (folder / "failed" / "cp.csv").exists()


def test_a_new_file_waits_for_a_mapping_when_the_source_has_none(folder):
    drop(folder, "a.csv", customers(1))
    connection = local(folder, mapping=None)
    assert poll(connection).stored == 1
    waiting = FileImport.objects.get(source=connection.source)
    assert waiting.status == FileImport.Status.UPLOADED and waiting.columns[0] == "customer_id"
    said = drops.summary(connection=connection)
    assert (said["imported"], said["waiting_for_mapping"]) == (1, 1)
    assert said["recent"][0].error.startswith("Waiting for a mapping")


def test_a_file_with_other_columns_than_the_mapping_waits_for_one(folder):
    drop(folder, "other.csv", b"id,mail\n1,a@example.org\n")
    connection = local(folder)
    poll(connection)
    assert FileImport.objects.get(source=connection.source).status == FileImport.Status.UPLOADED
    assert "Not in the file" in DroppedFile.objects.get(connection=connection).error


def test_links_in_the_folder_are_not_followed(folder, tmp_path):
    secret = tmp_path / "outside.csv"
    secret.write_bytes(customers(9))
    (folder / "link.csv").symlink_to(secret)
    connection = local(folder)
    assert services.test_connection(connection=connection).message.startswith("0 file(s)")
    assert poll(connection).records_read == 0


def test_test_connection_counts_matching_files_and_says_what_is_wrong(folder, root, tmp_path):
    drop(folder, "a.csv", customers(1))
    drop(folder, "b.CSV", customers(2))
    drop(folder, "c.txt", b"x")
    result = services.test_connection(connection=local(folder))
    assert result.ok and result.message == f"2 file(s) matching *.csv *.jsonl in {folder}."
    missing = services.test_connection(connection=local(root / "nobody"))
    assert (missing.ok, missing.code) == (False, "config") and "does not exist" in missing.message
    outside = services.test_connection(connection=local(tmp_path / "elsewhere"))
    assert not outside.ok and "outside the folders a file drop may read" in outside.message
    escape = services.test_connection(connection=local(root / "partner" / ".." / ".."))
    assert not escape.ok and "outside" in escape.message
    bad = services.test_connection(connection=local(folder, encoding="klingon"))
    assert not bad.ok and "Encoding" in bad.message


def test_a_page_read_twice_is_staged_once_and_imported_once(folder, settings):
    # Two workers holding the same slice both read it; one stores it.
    drop(folder, "a.csv", customers(1))
    connection = local(folder)
    reader, stream = sync.reader_for(connection), file_drop.KIND.stream("files")
    pages = [file_drop.read(reader, stream=stream, cursor=None) for _ in range(2)]
    assert pages[0].records == pages[1].records
    assert poll(connection).stored == 1
    assert [p.name for p in (settings.VAR_DIR / "imports").iterdir()] == [
        FileImport.objects.get(source=connection.source).stored_name
    ]


def test_a_done_folder_must_be_a_name_inside_the_folder(folder):
    result = services.test_connection(connection=local(folder, done_folder="../../elsewhere"))
    assert (result.ok, result.code) == (False, "config") and "not a path" in result.message


# --- an SFTP server -------------------------------------------------------------------


@pytest.fixture
def sftp_root(tmp_path):
    path = tmp_path / "sftp"
    (path / "outgoing").mkdir(parents=True)
    return path


@pytest.fixture
def sftp(sftp_root, root):
    server = SftpServer(sftp_root, users={"partner": PASSWORD}).start()
    yield server
    server.stop()


def remote(server, *, password=PASSWORD, host_key=None, **config):
    return connect(
        **{
            "location": "sftp",
            "host": "127.0.0.1",
            "port": server.port,
            "username": "partner",
            "folder": "/outgoing",
            "host_key": server.fingerprint if host_key is None else host_key,
            "secrets": {"password": password},
            **config,
        }
    )


def test_sftp_new_files_are_imported_once_and_moved_to_done(sftp, sftp_root):
    outgoing = sftp_root / "outgoing"
    drop(outgoing, "a.csv", customers(1, 2))
    drop(outgoing, "b.csv", customers(3))
    connection = remote(sftp)
    result = services.test_connection(connection=connection)
    assert result.ok and result.message.startswith("2 file(s) matching")
    run = poll(connection)
    assert (run.status, run.stored) == ("succeeded", 2)
    run_imports(connection)
    assert user_ids(connection) == ["C1", "C2", "C3"]
    assert sorted(p.name for p in (outgoing / "done").iterdir()) == ["a.csv", "b.csv"]
    drop(outgoing, "a.csv", customers(1, 2), age=300)  # the partner sends it again
    again = poll(connection)
    assert (again.stored, again.duplicates) == (0, 1)
    assert FileImport.objects.filter(source=connection.source).count() == 2


def test_sftp_file_still_being_written_waits(sftp, sftp_root):
    path = drop(sftp_root / "outgoing", "a.csv", customers(1), age=0)
    connection = remote(sftp)
    assert poll(connection).records_read == 0
    os.utime(path, (time.time() - 600, time.time() - 600))
    assert poll(connection).stored == 1


def test_sftp_wrong_password_is_refused_clearly(sftp):
    result = services.test_connection(connection=remote(sftp, password="wrong"))
    assert (result.ok, result.code) == (False, "auth")
    assert "refused the user 'partner'" in result.message


def test_sftp_unknown_host_key_is_refused_before_any_credential_is_sent(sftp):
    result = services.test_connection(connection=remote(sftp, host_key=""))
    assert (result.ok, result.code) == (False, "host_key")
    assert sftp.fingerprint.rstrip("=") in result.message and "nothing was sent" in result.message
    other = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
    wrong = services.test_connection(connection=remote(sftp, host_key=other))
    assert (wrong.ok, wrong.code) == (False, "host_key") and "not the pinned" in wrong.message
    assert sftp.logins == []  # the password never reached a server it could not trust
    pinned_by_key = services.test_connection(connection=remote(sftp, host_key=sftp.public_key))
    assert pinned_by_key.ok and sftp.logins == ["partner"]


def test_sftp_missing_folder_and_permission_denied_say_so(sftp, sftp_root):
    (sftp_root / "private").mkdir()
    missing = services.test_connection(connection=remote(sftp, folder="/nothing"))
    assert (missing.ok, missing.code) == (False, "config") and "does not exist" in missing.message
    denied = services.test_connection(connection=remote(sftp, folder="/private"))
    assert (denied.ok, denied.code) == (False, "permission")


def test_sftp_private_key_login(sftp_root, root):
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = SftpServer(
        sftp_root, users={}, client_keys={"partner": {key.get_fingerprint("sha256")}}
    ).start()
    try:
        connection = connect(
            location="sftp",
            host="127.0.0.1",
            port=server.port,
            username="partner",
            folder="/outgoing",
            host_key=server.fingerprint,
            secrets={"private_key": key.export_private_key().decode()},
        )
        assert services.test_connection(connection=connection).ok
    finally:
        server.stop()


def test_sftp_host_unreachable_and_private_addresses_are_refused(sftp, settings):
    sftp.stop()
    gone = services.test_connection(connection=remote(sftp))
    assert (gone.ok, gone.code) == (False, "unreachable") and "Cannot reach" in gone.message
    settings.CDP_OUTBOUND_ALLOWED_NETWORKS = []
    private = services.test_connection(connection=remote(sftp))
    assert (private.ok, private.code) == (False, "config") and "loopback" in private.message


def test_changing_the_sftp_host_forgets_the_password(sftp):
    connection = remote(sftp)
    services.update_connection(connection=connection, config=connection.config | {"port": 2222})
    assert connection.secrets_encrypted == ""
    kept = remote(sftp)
    services.update_connection(connection=kept, config=kept.config | {"pattern": "*.csv"})
    assert kept.secrets_encrypted != ""


def test_a_file_that_cannot_be_moved_stays_and_is_not_imported_again(sftp, sftp_root):
    sftp.read_only = True  # the partner lets us read, not move
    drop(sftp_root / "outgoing", "a.csv", customers(1))
    connection = remote(sftp)
    assert poll(connection).stored == 1
    dropped = DroppedFile.objects.get(connection=connection)
    assert (dropped.moved_to, "permission denied" in dropped.move_error) == ("", True)
    assert (sftp_root / "outgoing" / "a.csv").exists()
    assert (poll(connection).records_read, FileImport.objects.count()) == (0, 1)
