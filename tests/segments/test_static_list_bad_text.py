"""An uploaded list whose rows hold a NUL is reported line by line (the other rows still
count), never a 500 (found by probing the list upload with NUL)."""

import io

import pytest

from cdp_site.permissions import MARKETER
from segments.models import Segment

from .test_static_and_export import members, people, pid  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_row_with_a_nul_is_a_reported_line_and_the_others_count(client_as, people):  # noqa: F811
    upload = io.BytesIO(b"email\nann@example.org\na\x00b@example.org\nbo@example.org\n")
    upload.name = "list.csv"
    response = client_as(MARKETER).post(
        "/api/v1/segments/static/", {"name": "VIPs", "description": "", "file": upload}
    )
    assert response.status_code == 201, response.content
    report = response.json()["result"]
    assert report["malformed"] == 1
    assert report["problems"][0]["line"] == 3
    assert "cannot be stored" in report["problems"][0]["error"]
    assert members(Segment.objects.get(name="VIPs")) == {pid("ann"), pid("bo")}
