"""Real helper processes for tests: a Celery worker and a throwaway Redis."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def test_database_url() -> str:
    db = settings.DATABASES["default"]  # pytest-django has pointed NAME at the test database
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    user = quote(db["USER"], safe="")
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def installation_env(redis_url: str, **extra) -> dict:
    """The environment of a process of the installation under test: test mode, the test
    database, ``redis_url`` as its Redis and broker. Not the pytest-xdist worker's name:
    the URLs handed over are already this worker's own (settings), and a test may hand
    another (its own Redis), which the process must use as given."""
    inherited = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    return dict(
        inherited,
        CDP_MODE="test",
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        DATABASE_URL=test_database_url(),
        **extra,
    )


def start_celery_worker(
    *,
    broker_url: str,
    name: str,
    extra_env: dict | None = None,
    log=subprocess.DEVNULL,
    pool: str = "prefork",
):
    """A real worker process against ``broker_url`` and the test database.

    ``pool="solo"`` runs tasks in the main process, so a SIGKILL hits the one working."""
    env = installation_env(broker_url, PYTHONUNBUFFERED="1", **(extra_env or {}))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cdp_site",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            "1",
            "--pool",
            pool,
            "--hostname",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def run_django(code: str, *, redis_url: str, var_dir, extra_env: dict | None = None) -> str:
    """Runs ``code`` (after ``django.setup()``) in a process of its own whose Redis and
    broker are ``redis_url``, against the test database; returns what it printed."""
    env = installation_env(
        redis_url,
        DJANGO_SETTINGS_MODULE="cdp_site.settings",
        CDP_VAR_DIR=str(var_dir),
        **(extra_env or {}),
    )
    program = f"import django\ndjango.setup()\n{code}"
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(predicate, *, timeout: float, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
