import logging
import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings")

logger = logging.getLogger(__name__)

app = Celery("cdp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task_named(task):
    """The registered task called ``task`` (a task given as itself is returned as is).

    Services queue their app's tasks by name ("segments.tasks.recompute_segment"):
    tasks import services to do their work, so a service importing its tasks module
    would make a circle. Outside a worker, the apps' task modules are imported on the
    first such call."""
    if not isinstance(task, str):
        return task
    if task not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[task]


# Per-task time limits beside the defaults in settings (CDP_TASK_SOFT_TIME_LIMIT, 5 min):
# whole-table passes that legitimately run longer. Both stay under the broker's
# visibility timeout (1 h), past which Redis would hand a running task to another worker.
LONG_TASK = {"soft_time_limit": 45 * 60, "time_limit": 50 * 60}
# Housekeeping that must never hold a worker slot for long.
SHORT_TASK = {"soft_time_limit": 60, "time_limit": 90}

HEARTBEAT_EVERY = 5.0
HEARTBEAT_TTL = 15
# One sorted set for all workers: member the worker's hostname, score the Redis server's
# time of its last beat. /healthz drops the stale ones and counts the rest in two O(log N)
# commands, where a key per worker needed a scan of the whole keyspace.
HEARTBEATS_KEY = "worker-heartbeats"


def heartbeats():
    """(Redis client, the sorted set's key) as the cache sees them (its server and prefix)."""
    # Here, not at the top: the worker imports this module before Django is set up.
    from django.core.cache import cache

    return cache._cache.get_client(write=True), cache.make_key(HEARTBEATS_KEY)


def redis_now(client) -> float:
    """The Redis server's clock: every worker and web process compares against one clock."""
    seconds, microseconds = client.time()
    return seconds + microseconds / 1_000_000


class Heartbeat(bootsteps.StartStopStep):
    """Each worker refreshes its entry in the heartbeat set; /healthz counts the fresh ones.

    A broadcast ping would also work, but it waits for replies on every health check
    and its pooled connection outlives a broker restart; the set costs two reads.
    """

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        self.hostname = worker.hostname
        self.beat()
        self.tref = worker.timer.call_repeatedly(HEARTBEAT_EVERY, self.beat, priority=10)

    def beat(self):
        try:
            client, key = heartbeats()
            pipe = client.pipeline(transaction=False)
            pipe.zadd(key, {self.hostname: redis_now(client)})
            # The set goes away by itself once no worker beats any more.
            pipe.expire(key, HEARTBEAT_TTL)
            pipe.execute()
        except Exception:  # Redis down: health reports that; the worker keeps working
            logger.warning("could not write the worker heartbeat", exc_info=True)

    def stop(self, worker):
        if getattr(self, "tref", None):
            self.tref.cancel()
        try:
            client, key = heartbeats()
            client.zrem(key, self.hostname)
        except Exception:
            logger.warning("could not remove the worker heartbeat", exc_info=True)


app.steps["worker"].add(Heartbeat)
