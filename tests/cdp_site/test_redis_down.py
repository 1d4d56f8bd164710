"""With Redis stopped, people still log in and the REST API still answers; work asked for
while the broker was unreachable waits in the outbox and runs once the broker is back."""

import pytest

from cdp_site import services
from cdp_site.dev import embedded
from cdp_site.models import QueuedTask
from cdp_site.permissions import ADMIN, MARKETER
from integrations import services as integration_services
from integrations.imports.models import FileImport
from integrations.models import Source
from segments.models import Segment
from tests.conftest import PASSWORD
from tests.support import segment_rules
from tests.support.processes import (
    run_django,
    start_celery_worker,
    stop_process,
    wait_until,
)

pytestmark = pytest.mark.services


@pytest.fixture
def stopped_redis(tmp_path):
    """A throwaway Redis, started and stopped: its address refuses connections."""
    port = embedded.any_free_port()
    state = {"port": port, "dir": tmp_path / "redis"}
    server = embedded.start_redis(data_dir=state["dir"], port=port, durable=False)
    state["url"] = server.url
    server.stop()
    yield state
    if state.get("server"):
        state["server"].stop()


@pytest.fixture
def cache_on(settings, stopped_redis):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": stopped_redis["url"]}}
    return stopped_redis


@pytest.mark.django_db
def test_login_and_an_api_call_with_a_token_work_while_redis_is_stopped(
    client, make_user, cache_on
):
    admin = make_user(ADMIN)
    response = client.post(
        "/accounts/login/", {"login": admin.email, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"
    assert response.wsgi_request.user == admin

    token = services.create_api_token(user=admin, name="script").plaintext
    client.logout()
    answer = client.get("/api/v1/sources", HTTP_AUTHORIZATION=f"Token {token}")
    assert answer.status_code == 200, answer.content
    assert "results" in answer.json()


EVERYONE = segment_rules.rule({"type": "identifier", "kind": "email"})
CSV = b"customer_id,email\nc-1,ann@example.org\nc-2,bob@example.org\n"

# A web process whose broker is down: it asks for a recompute through the REST API and
# starts a file import (the service behind the upload page).
WEB_PROCESS = """
from django.test import Client
from integrations.imports import services
from integrations.imports.mapping import Mapping
from integrations.models import Source

answer = Client(HTTP_HOST="localhost").post(
    "/api/v1/segments/{segment}/recompute/", HTTP_AUTHORIZATION="Token {token}"
)
print(answer.status_code)
mapping = Mapping(row_kind="identify", user_id_column="customer_id", email_column="email")
started = services.import_file(source=Source.objects.get(pk={source}), path="{path}",
                               mapping=mapping)
print(started.pk, started.status)
"""
# Beat's outbox sweep, in a process of that installation (the grace period shortened).
SWEEP = """
from datetime import timedelta
from cdp_site import outbox
print(outbox.flush(grace=timedelta(0)))
"""


@pytest.mark.django_db(transaction=True)
def test_work_asked_for_while_the_broker_is_down_runs_once_it_is_back(
    make_user, stopped_redis, tmp_path
):
    token = services.create_api_token(user=make_user(MARKETER), name="script").plaintext
    source = integration_services.create_source(name="ERP", kind=Source.Kind.ERP)
    segment = Segment.objects.create(name="Everyone", rule=EVERYONE)
    path = tmp_path / "customers.csv"
    path.write_bytes(CSV)

    web = WEB_PROCESS.format(segment=segment.pk, token=token, source=source.pk, path=path)
    answered = run_django(web, redis_url=stopped_redis["url"], var_dir=tmp_path).split()
    assert answered[0] == "202"  # not a 500: the broker being down is no error of the user's
    import_id = int(answered[1])
    assert answered[2] == FileImport.Status.QUEUED
    assert QueuedTask.objects.count() == 2

    stopped_redis["server"] = embedded.start_redis(
        data_dir=stopped_redis["dir"], port=stopped_redis["port"], durable=False
    )
    url = stopped_redis["url"]
    worker = start_celery_worker(
        broker_url=url, name="outbox", extra_env={"CDP_VAR_DIR": str(tmp_path)}
    )
    try:
        assert run_django(SWEEP, redis_url=url, var_dir=tmp_path).strip() == "2"
        assert not QueuedTask.objects.exists()
        wait_until(
            lambda: FileImport.objects.get(pk=import_id).status == FileImport.Status.DONE,
            timeout=60,
            what="the import to finish",
        )
        wait_until(
            lambda: Segment.objects.get(pk=segment.pk).computed_at is not None,
            timeout=60,
            what="the segment to be recomputed",
        )
    finally:
        stop_process(worker)
    assert FileImport.objects.get(pk=import_id).rows_done == 2
