"""CSV exports stay inside the export root (CDP_EXPORT_ROOT): no absolute folder, no "..",
no symbolic link on the way, refused at the field when an admin saves and again when the
file is written."""

import pytest

from cdp_site.permissions import ADMIN
from integrations.destinations import adapters, services
from integrations.destinations.adapters import DestinationError
from integrations.destinations.models import Destination

pytestmark = pytest.mark.django_db

ROWS = ["id,email\r\n", "1,a@b.c\r\n"]


@pytest.fixture
def root(settings, tmp_path, monkeypatch):
    settings.CDP_EXPORT_ROOT = tmp_path / "exports"
    settings.CDP_EXPORT_ROOT.mkdir()
    # Were a check missing, a relative folder would be taken from here: keep even that
    # inside the test's own folder.
    monkeypatch.chdir(settings.CDP_EXPORT_ROOT)
    return settings.CDP_EXPORT_ROOT


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def stored(folder: str) -> Destination:
    """A destination whose folder was saved before these checks existed."""
    destination = services.create_destination(
        name="Files", kind="csv_export", config={"folder": "ok"}
    )
    Destination.objects.filter(pk=destination.pk).update(config={"folder": folder})
    destination.refresh_from_db()
    return destination


# "{tmp}" is the test's own folder: a missing check never writes anywhere else.
BAD_FOLDERS = [
    ("{tmp}/elsewhere", "not an absolute path"),
    ("../elsewhere", 'cannot go up with ".."'),
    ("a/../../elsewhere", 'cannot go up with ".."'),
    ("~/exports", "not an absolute path"),
]


@pytest.mark.parametrize(("folder", "words"), BAD_FOLDERS)
def test_a_folder_outside_the_root_is_refused_at_the_field(
    client_as, root, tmp_path, folder, words
):
    folder = folder.format(tmp=tmp_path)
    response = client_as(ADMIN).post(
        "/integrations/destinations/new/?kind=csv_export",
        {"kind": "csv_export", "name": "Files", "config__folder": folder},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert words in " ".join(form.errors["config__folder"])
    assert not Destination.objects.exists()


@pytest.mark.parametrize(("folder", "words"), BAD_FOLDERS)
def test_the_api_refuses_a_folder_outside_the_root(client_as, root, tmp_path, folder, words):
    folder = folder.format(tmp=tmp_path)
    response = client_as(ADMIN).post(
        "/api/v1/destinations/",
        {"name": "Files", "kind": "csv_export", "config": {"folder": folder}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert words in response.json()["error"]["fields"]["config.folder"][0]


@pytest.mark.parametrize(("folder", "words"), BAD_FOLDERS)
def test_a_stored_folder_outside_the_root_is_never_written(root, outside, tmp_path, folder, words):
    destination = stored(folder.format(tmp=tmp_path))
    with pytest.raises(DestinationError, match=words.replace(".", r"\.")):
        adapters.export_segment_csv(destination, rows=iter(ROWS), name="x")
    ok, message = services.record_test(destination=destination)
    assert not ok and words in message
    assert list(outside.iterdir()) == []


def test_a_symbolic_link_out_of_the_root_is_refused_on_save_and_on_write(client_as, root, outside):
    (root / "shared").symlink_to(outside, target_is_directory=True)
    response = client_as(ADMIN).post(
        "/integrations/destinations/new/?kind=csv_export",
        {"kind": "csv_export", "name": "Files", "config__folder": "shared/nightly"},
    )
    assert "is a symbolic link" in " ".join(response.context["form"].errors["config__folder"])
    destination = stored("shared/nightly")
    with pytest.raises(DestinationError, match="symbolic link"):
        adapters.export_segment_csv(destination, rows=iter(ROWS), name="x")
    assert list(outside.iterdir()) == []


def test_a_link_planted_after_the_folder_was_saved_is_not_followed(root, outside):
    destination = services.create_destination(
        name="Files", kind="csv_export", config={"folder": "nightly/vip"}
    )
    (root / "nightly").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DestinationError, match="symbolic link"):
        adapters.export_segment_csv(destination, rows=iter(ROWS), name="x")
    assert list(outside.iterdir()) == []


def test_a_link_at_the_file_name_is_replaced_not_written_through(root, outside):
    destination = services.create_destination(
        name="Files", kind="csv_export", config={"folder": "nightly"}
    )
    victim = outside / "passwd"
    victim.write_text("untouched")
    (root / "nightly").mkdir()
    (root / "nightly" / "vip.csv").symlink_to(victim)
    path = adapters.export_segment_csv(destination, rows=iter(ROWS), name="vip")
    assert victim.read_text() == "untouched"
    assert path == root / "nightly" / "vip.csv"
    assert not path.is_symlink() and path.read_bytes() == b"id,email\r\n1,a@b.c\r\n"


def test_a_folder_inside_the_root_is_created_and_written(client_as, root):
    response = client_as(ADMIN).post(
        "/integrations/destinations/new/?kind=csv_export",
        {
            "kind": "csv_export",
            "name": "Files",
            "enabled": "on",
            "config__folder": "segments/nightly",
        },
    )
    assert response.status_code == 302
    destination = Destination.objects.get()
    path = adapters.export_segment_csv(destination, rows=iter(ROWS), name="VIP buyers")
    assert path == root / "segments" / "nightly" / "VIP-buyers.csv"
    assert path.read_bytes() == b"id,email\r\n1,a@b.c\r\n"
