import logging
import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings")

logger = logging.getLogger(__name__)

app = Celery("cdp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Per-task time limits beside the defaults in settings (CDP_TASK_SOFT_TIME_LIMIT, 5 min):
# whole-table passes that legitimately run longer. Both stay under the broker's
# visibility timeout (1 h), past which Redis would hand a running task to another worker.
LONG_TASK = {"soft_time_limit": 45 * 60, "time_limit": 50 * 60}
# Housekeeping that must never hold a worker slot for long.
SHORT_TASK = {"soft_time_limit": 60, "time_limit": 90}

HEARTBEAT_EVERY = 5.0
HEARTBEAT_TTL = 15
HEARTBEAT_KEY = "worker-heartbeat:{hostname}"


class Heartbeat(bootsteps.StartStopStep):
    """Each worker refreshes a short-lived key in Redis; /healthz counts the fresh ones.

    A broadcast ping would also work, but it waits for replies on every health check
    and its pooled connection outlives a broker restart; a key costs one read.
    """

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        self.key = HEARTBEAT_KEY.format(hostname=worker.hostname)
        self.beat()
        self.tref = worker.timer.call_repeatedly(HEARTBEAT_EVERY, self.beat, priority=10)

    def beat(self):
        from django.core.cache import cache

        try:
            cache.set(self.key, 1, timeout=HEARTBEAT_TTL)
        except Exception:  # Redis down: health reports that; the worker keeps working
            logger.warning("could not write the worker heartbeat", exc_info=True)

    def stop(self, worker):
        from django.core.cache import cache

        if getattr(self, "tref", None):
            self.tref.cancel()
        try:
            cache.delete(self.key)
        except Exception:
            logger.warning("could not remove the worker heartbeat", exc_info=True)


app.steps["worker"].add(Heartbeat)
