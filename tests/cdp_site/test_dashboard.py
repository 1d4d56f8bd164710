"""The dashboard shows the state of the data (profiles, events, segments, campaigns) and
its health (rejected events, failed imports, dead letters, failing segments), from
figures each app registers, cheaply: estimates past 10,000 rows."""

import re

import pytest

from cdp_site import dashboard
from cdp_site.permissions import ADMIN, MARKETER, VIEWER
from integrations import services as integrations
from integrations.collect.messages import Rejection
from integrations.destinations import services as destinations
from integrations.imports.models import FileImport
from segments.models import Segment
from tests.profiles.conftest import drain, message, web  # noqa: F401
from tests.support.signing import signed

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page's words, without tags."""
    return " ".join(re.sub(r"<[^>]+>", "", response.content.decode()).split())


@pytest.fixture
def data(web):  # noqa: F811
    integrations.ingest_messages(
        source_id=web.pk,
        messages=signed(
            web,
            message("identify", userId="u1", traits={"email": "a@example.org"}),
            message("identify", userId="u2", traits={"email": "b@example.org"}),
            message(userId="u2", event="Order Completed"),
        ),
    )
    drain()
    Segment.objects.create(name="Broken", rule={}, compute_error="statement timeout")
    return web


def test_the_dashboard_shows_the_figures_and_that_all_is_well(data, client_as):
    page = text(client_as(MARKETER).get("/"))
    assert "Profiles 2 one per person" in page
    assert "Events 3 3 processed in the last 24 h" in page
    assert "Segments 1" in page and "Active campaigns 0" in page
    for healthy in (
        "Rejected events, last 24 h: 0",
        "Failed imports, last 7 days: 0",
        "Dead letters waiting: 0",
    ):
        assert healthy in page
    assert "Segments failing to compute: 1 (needs a look)" in page


def test_rejections_failed_imports_and_dead_letters_are_warnings(data, client_as):
    integrations.record_rejections(
        source_id=data.pk,
        rejections=[Rejection("invalid_type", "type must be one of ...", None)] * 2,
    )
    failed = FileImport.Status.FAILED
    FileImport.objects.create(
        source=data,
        original_name="crm.csv",
        stored_name="x",
        format="csv",
        sha256="0",
        status=failed,
    )
    hook = destinations.create_destination(
        name="Hook", kind="webhook", config={"url": "http://127.0.0.1:9/"}
    )
    destinations.record_dead_letter(
        destination=hook, payload={}, idempotency_key="k", error="HTTP 500", attempts=5
    )
    response = client_as(ADMIN).get("/")
    admin, page = response.content.decode(), text(response)
    assert "Rejected events, last 24 h: 2 (needs a look)" in page
    assert "Failed imports, last 7 days: 1 (needs a look)" in page
    assert "Dead letters waiting: 1 (needs a look)" in page
    assert 'href="/integrations/destinations/dead-letters/">Dead letters waiting</a>' in admin


def test_a_viewer_sees_the_figures_without_links_to_pages_it_may_not_open(data, client_as):
    html = client_as(VIEWER).get("/").content.decode()
    assert "Profiles" in html and 'href="/profiles/"' not in html.split('id="figures-title"')[1]


def test_past_ten_thousand_profiles_the_figure_is_the_tables_estimate(client_as, many_profiles):
    many_profiles(10_500)
    page = text(client_as(VIEWER).get("/"))
    assert "Profiles About 10," in page and "estimate from table statistics" in page


def test_a_failing_provider_costs_its_own_tiles_only(data, client_as, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    broken.__module__ = "segments.dashboard"
    monkeypatch.setattr(dashboard, "PROVIDERS", [*dashboard.PROVIDERS, broken])
    response = client_as(VIEWER).get("/")
    assert response.status_code == 200
    assert "Segments: unreadable" in text(response) and "Profiles 2" in text(response)
