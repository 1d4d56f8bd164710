"""Every free-text field of the lifecycle, retention and paths reports takes the segment
grammar's hostile strings as data: a 200 that counts no one (or a 400 naming the field
for a NUL), never a 500, and the events are all still there."""

from urllib.parse import quote

import pytest

from profiles.models import ProfileEvent
from tests.segments.test_rule_hostile_strings import HOSTILE

pytestmark = pytest.mark.django_db
PERIOD = "start=2026-10-26&end=2026-11-22"
# (report, the field the string goes in, the rest of a valid question, who it counted)
FIELDS = [
    ("lifecycle", "event", "", lambda body: body["new"] + body["returning"]),
    ("retention", "returning_event", "", lambda body: sum(body["returned"], [])),
    (
        "retention",
        "cohort_event",
        "returning_event=Order+Completed&cohort_by=first_order",
        lambda body: body["sizes"],
    ),
    ("paths", "event", "window=session", lambda body: [body["starts"]]),
]


def encoded(text: str) -> str:
    """As a browser sends it: UTF-8, a lone surrogate's bytes included."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@pytest.mark.parametrize("report, field, rest, counted", FIELDS)
def test_hostile_strings_are_only_data(journeys, client_as, report, field, rest, counted):
    client = client_as("Viewer")
    stored = ProfileEvent.objects.count()
    for text in HOSTILE:
        url = f"/api/v1/insights/{report}/?{PERIOD}&{rest}&{field}={encoded(text)}"
        response = client.get(url)
        if "\x00" in text:
            assert response.status_code == 400, text
            assert field in response.json()["error"]["fields"], text
            continue
        assert response.status_code == 200, (text, response.content)
        body = response.json()
        assert not any(counted(body)), (text, body)
        page = client.get(url.replace("/api/v1/insights/", "/insights/"))
        assert page.status_code == 200, text
    assert ProfileEvent.objects.count() == stored
