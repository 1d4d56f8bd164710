"""`manage.py up` end to end: one command starts everything; Ctrl-C stops all of it."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import psutil
import pytest
from django.conf import settings

from cdp_site.dev import embedded

pytestmark = pytest.mark.services
BANNER = "CDP is running at "


class Up:
    """One run of `manage.py up` in its own var dir and ports, with its output collected."""

    def __init__(self, var_dir, ports):
        self.var_dir, self.ports = var_dir, ports
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CDP_MODE"}
        }
        env.update(CDP_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "up",
                "--port",
                str(ports["web"]),
                "--pg-port",
                str(ports["pg"]),
                "--redis-port",
                str(ports["redis"]),
                "--no-demo-data",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines = []

    def wait_for_banner(self, timeout=120) -> str:
        deadline = time.monotonic() + timeout
        for line in self.process.stdout:
            self.lines.append(line)
            if BANNER in line:
                return line.split(BANNER)[1].strip()
            if time.monotonic() > deadline:
                break
        raise AssertionError("no banner; output was:\n" + "".join(self.lines))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, sig=signal.SIGINT, timeout=60) -> int:
        self.process.send_signal(sig)
        rest, _ = self.process.communicate(timeout=timeout)
        self.lines.append(rest)
        return self.process.returncode


def _alive(processes) -> list:
    alive = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def _login(base_url: str, email: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base_url + "accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "login": email, "password": password}
    ).encode()
    request = urllib.request.Request(
        base_url + "accounts/login/", data=data, headers={"Referer": base_url + "accounts/login/"}
    )
    return opener.open(request).read().decode()


def _healthz_ok(base_url: str) -> bool:
    try:
        return urllib.request.urlopen(base_url + "healthz", timeout=5).status == 200
    except OSError:
        return False


@pytest.fixture
def ports():
    return {
        "web": embedded.any_free_port(),
        "pg": embedded.any_free_port(),
        "redis": embedded.any_free_port(),
    }


def test_up_starts_everything_logs_in_and_ctrl_c_leaves_nothing_behind(tmp_path, ports):
    run = Up(tmp_path, ports)
    try:
        url = run.wait_for_banner()
        assert url == f"http://127.0.0.1:{ports['web']}/"
        logins = dict(re.findall(r"^\s+Admin\s+(\S+@example\.com)\s+(\S+)$", run.output, re.M))
        ((email, password),) = logins.items()
        assert "Dashboard" in _login(url, email, password)
        deadline = time.monotonic() + 60
        while not _healthz_ok(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _healthz_ok(url), "web, database, Redis and worker should all be up"
        children = run.descendants()
        names = " ".join(" ".join(p.cmdline()) for p in children)
        # In demo mode (the default of `up`) the demo mailbox runs beside them.
        parts = ("postgres", "redis-server", "gunicorn", "celery", "worker", "beat", "demo_mailbox")
        for part in parts:
            assert part in names
    finally:
        code = run.stop(signal.SIGINT)
    assert code == 0
    assert "stopped." in run.output
    time.sleep(0.5)
    assert _alive(children) == []


def test_up_again_reuses_the_data_and_restarts_a_server_left_by_a_crash(tmp_path, ports):
    first = Up(tmp_path, ports)
    first.wait_for_banner()
    assert "initialised a new PostgreSQL data directory" in first.output
    first_children = first.descendants()
    # A crash: the runner dies without cleaning up. Its app children die with it
    # (parent-death signal); the database servers are left running.
    first.process.kill()
    first.process.wait()

    def only_database_servers_left():
        # The app processes get SIGTERM from the kernel and shut down gracefully.
        alive = _alive(first_children)
        return alive and all("postgres" in p.name() or "redis" in p.name() for p in alive)

    deadline = time.monotonic() + 60
    while not only_database_servers_left() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert only_database_servers_left()
    leftovers = _alive(first_children)

    second = Up(tmp_path, ports)
    try:
        second.wait_for_banner()
        assert "stopped an embedded PostgreSQL left running by an earlier run" in second.output
        assert "stopped an embedded Redis left running by an earlier run" in second.output
        assert "initialised a new PostgreSQL" not in second.output
        assert "password printed when first created" in second.output
        children = second.descendants()
    finally:
        assert second.stop(signal.SIGTERM) == 0
    time.sleep(0.5)
    assert _alive(children) == []
    assert _alive(leftovers) == []


def test_port_in_use_gets_a_clear_message_and_a_free_alternative(tmp_path, ports):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports["web"]))
        busy.listen()
        run = Up(tmp_path, ports)
        rest, _ = run.process.communicate(timeout=60)
    assert run.process.returncode != 0
    assert f"Port {ports['web']} for the web server is already in use" in rest
    assert re.search(r"choose another port, e\.g\. --port \d+", rest)
    assert "Traceback" not in rest
