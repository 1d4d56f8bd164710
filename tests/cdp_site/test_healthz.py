"""/healthz reports the database, Redis and a real Celery worker."""

import socket

import pytest
from django.core.cache import cache

from cdp_site.celery import HEARTBEAT_TTL, HEARTBEATS_KEY, redis_now
from cdp_site.dev import embedded
from tests.support.processes import start_celery_worker, stop_process, wait_until

pytestmark = [pytest.mark.django_db, pytest.mark.services]


@pytest.fixture
def own_redis(tmp_path):
    port = embedded.any_free_port()
    server = embedded.start_redis(data_dir=tmp_path / "redis", port=port, durable=False)
    state = {"server": server, "port": port, "dir": tmp_path / "redis"}
    yield state
    state["server"].stop()  # the one running now: a test may have restarted it


@pytest.fixture
def pointed_at(settings, own_redis):
    """Settings of this process pointed at the test's own Redis (cache and broker)."""
    url = own_redis["server"].url
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    return url


def _health(client):
    response = client.get("/healthz")
    return response.status_code, response.json()


def test_healthz_is_200_with_every_service_up(client, pointed_at, tmp_path):
    worker = start_celery_worker(broker_url=pointed_at, name="health")
    try:
        status, body = wait_until(
            lambda: (s := _health(client))[0] == 200 and s, timeout=60, what="a healthy answer"
        )
        assert body["ok"] is True
        assert body["checks"]["database"]["ok"]
        assert body["checks"]["redis"]["ok"]
        assert body["checks"]["worker"]["workers"] >= 1
    finally:
        stop_process(worker)


def test_healthz_is_503_without_a_worker(client, pointed_at):
    status, body = _health(client)
    assert status == 503
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["worker"] == {"ok": False, "error": "no worker answered"}


def test_healthz_is_503_while_redis_is_stopped_and_200_once_it_is_back(
    client, pointed_at, own_redis
):
    worker = start_celery_worker(broker_url=pointed_at, name="health")
    try:
        wait_until(lambda: _health(client)[0] == 200, timeout=60, what="healthy before the stop")

        own_redis["server"].stop()
        status, body = _health(client)
        assert status == 503
        assert body["checks"]["redis"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True

        own_redis["server"] = embedded.start_redis(
            data_dir=own_redis["dir"], port=own_redis["port"], durable=False
        )
        # The worker reconnects to the broker by itself; health follows within seconds.
        status, body = wait_until(
            lambda: (s := _health(client))[0] == 200 and s,
            timeout=90,
            what="healthy after Redis came back",
        )
        assert body["ok"] is True
    finally:
        stop_process(worker)


def test_healthz_needs_no_login_and_reveals_no_secrets(client, pointed_at):
    response = client.get("/healthz")
    text = response.content.decode()
    assert "redis://" not in text and "postgres://" not in text
    assert response["Cache-Control"].startswith("max-age=0")


def _heartbeat_set():
    return cache._cache.get_client(write=True), cache.make_key(HEARTBEATS_KEY)


def test_healthz_counts_workers_without_scanning_the_keyspace(client, pointed_at):
    worker = start_celery_worker(broker_url=pointed_at, name="health")
    try:
        wait_until(lambda: _health(client)[0] == 200, timeout=60, what="a healthy answer")
        redis, key = _heartbeat_set()
        assert [m.decode() for m in redis.zrange(key, 0, -1)] == [f"health@{socket.gethostname()}"]
        for n in range(2000):  # other keys in the same Redis cost /healthz nothing
            redis.set(f"unrelated:{n}", 1)
        redis.config_resetstat()
        status, body = _health(client)
        commands = redis.info("commandstats")
        assert status == 200 and body["checks"]["worker"] == {"ok": True, "workers": 1}
        assert not {"cmdstat_scan", "cmdstat_keys"} & set(commands)
        assert commands["cmdstat_zcard"]["calls"] == 1
    finally:
        stop_process(worker)


def test_a_worker_that_stops_leaves_the_count_at_once(client, pointed_at):
    worker = start_celery_worker(broker_url=pointed_at, name="health")
    try:
        wait_until(lambda: _health(client)[0] == 200, timeout=60, what="a healthy answer")
    finally:
        stop_process(worker)
    status, body = _health(client)
    assert status == 503 and body["checks"]["worker"]["error"] == "no worker answered"


def test_a_stale_heartbeat_is_not_counted_and_is_dropped(client, pointed_at):
    redis, key = _heartbeat_set()
    # A worker killed without a chance to say goodbye: its last beat grows old.
    redis.zadd(key, {"killed@somewhere": redis_now(redis) - HEARTBEAT_TTL - 1})
    redis.zadd(key, {"fresh@somewhere": redis_now(redis)})
    status, body = _health(client)
    assert status == 200 and body["checks"]["worker"] == {"ok": True, "workers": 1}
    assert redis.zscore(key, "killed@somewhere") is None
