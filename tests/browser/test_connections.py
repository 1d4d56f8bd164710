"""An admin connects a JSON API in real Chromium: creates the connection from the kind's
form, tests it, runs it, and watches the live progress (htmx polling) reach "Succeeded"
while a real Celery worker reads the local imitation page by page."""

import os

import pytest
from playwright.sync_api import expect

from cdp_site import services as site_services
from demo.imitations import rest as rest_api
from integrations.connectors.models import SyncRun
from integrations.models import Event
from tests.conftest import PASSWORD
from tests.support.processes import start_celery_worker, stop_process

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

RECORDS = 45


@pytest.fixture
def partner_api():
    records = [
        {"id": f"c{n}", "email": f"person{n}@example.com", "updated_at": "2026-03-01T10:00:00Z"}
        for n in range(RECORDS)
    ]
    imitation = rest_api.start(records=records, token="s3cret")
    yield imitation
    imitation.stop()


@pytest.fixture
def worker(settings):
    # No -Q: the worker consumes every queue of CELERY_TASK_QUEUES, "syncs" included.
    process = start_celery_worker(
        broker_url=settings.CELERY_BROKER_URL, name=f"connections-{os.getpid()}"
    )
    yield process
    stop_process(process)


@pytest.fixture
def admin(transactional_db):
    site_services.create_user(email="ada@example.org", role="Admin", password=PASSWORD)


def test_an_admin_connects_tests_and_runs_a_json_api(
    page, log_in, live_server, admin, partner_api, worker
):
    log_in("ada@example.org", PASSWORD)
    page.goto(f"{live_server.url}/integrations/connections/")
    page.get_by_role("link", name="New connection").first.click()
    page.get_by_role("link", name="Generic REST API").click()

    page.get_by_label("Name", exact=True).fill("Partner API")
    page.get_by_label("Base URL").fill(partner_api.url)
    page.get_by_label("Schedule").select_option("manual")
    page.get_by_label("Endpoint path").fill("/customers")
    page.get_by_label("Records path").fill("$.data")
    page.get_by_label("Paging", exact=True).select_option("page")
    page.get_by_label("Page size", exact=True).fill("20")
    page.get_by_label("Authentication").select_option("bearer")
    page.get_by_label("Token or API key").fill("s3cret")
    page.get_by_role("button", name="Create connection").click()

    expect(page.get_by_role("heading", name="Partner API", level=1)).to_be_visible()
    assert "s3cret" not in page.content()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connection works.")

    page.get_by_role("button", name="Run now").click()
    # The live section polls every 2 s while the worker reads the three pages.
    expect(page.locator("#run-status")).to_have_text("Succeeded", timeout=90_000)
    expect(page.locator("#run-stored")).to_have_text(str(RECORDS))
    expect(page.get_by_role("button", name="Run now")).to_be_visible()

    run = SyncRun.objects.get()
    assert (run.pages, run.stored, run.rejected) == (3, RECORDS, 0)
    # The events table outlives other tests' flushes (it is not a Django-managed table).
    assert Event.objects.filter(source_id=run.connection.source_id).count() == RECORDS
    assert [r.query.get("page") for r in partner_api.requests[-3:]] == ["1", "2", "3"]
