"""The process supervisor behind ``manage.py up``: one command, the whole product.

Starts (or reuses the configured) PostgreSQL and Redis, migrates, then runs the
web server, a Celery worker and Celery beat as children with prefixed logs.
Ctrl-C or SIGTERM stops the children in order (web first, databases last);
a child that dies takes the rest down with a message rather than limping on.
The first time, the demo company's data is loaded in the background once the web
server answers (a one-shot child: its exit is reported, not fatal). In demo mode the
demo mailbox (a local SMTP server, demo_mailbox) runs beside it, and the demo's journeys
are created and started before the data arrives (demo_journeys).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cdp_site.dev import embedded
from cdp_site.dev.devservices import start_missing_services, stop_all

COLOURS = itertools.cycle(["36", "35", "33", "32", "34", "31"])
PR_SET_PDEATHSIG = 1
DEMO_MAILBOX_PORT = 2525


def _die_with_parent() -> None:
    # If the supervisor is killed outright, the kernel stops its app children too.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Output:
    """Prefixes each child's lines with its name, in colour on a terminal."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tty = sys.stdout.isatty()

    def say(self, text: str) -> None:
        with self.lock:
            print(text, flush=True)

    def pump(self, name: str, stream) -> None:
        colour = next(COLOURS)
        label = f"{name:<8}|"
        if self.tty:
            label = f"\033[{colour}m{label}\033[0m"
        for raw in iter(stream.readline, b""):
            self.say(f"{label} {raw.decode(errors='replace').rstrip()}")

    def attach(self, name: str, process: subprocess.Popen) -> None:
        threading.Thread(target=self.pump, args=(name, process.stdout), daemon=True).start()


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    stop_signal: int = signal.SIGTERM
    oneshot: bool = False  # expected to finish; its exit does not stop the others


def choose_port(*, wanted: int, what: str, flag: str) -> int:
    """``wanted`` if free; otherwise offer the next free port on a terminal, or explain and stop."""
    if embedded.port_is_free(wanted):
        return wanted
    alternative = embedded.free_port_near(wanted)
    message = f"Port {wanted} for {what} is already in use by another program."
    if sys.stdin.isatty():
        answer = input(f"{message} Use port {alternative} instead? [Y/n] ").strip().lower()
        if answer in ("", "y", "yes"):
            return alternative
    raise SystemExit(
        f"{message} Stop that program, or choose another port, e.g. {flag} {alternative}."
    )


class Supervisor:
    def __init__(
        self,
        *,
        base_dir: Path,
        var_dir: Path,
        web_port: int,
        pg_port: int,
        redis_port: int,
        workers: int,
        demo_customers: int = 0,
    ):
        self.base_dir, self.var_dir = base_dir, var_dir
        self.ports = {"web": web_port, "pg": pg_port, "redis": redis_port}
        self.workers = workers
        self.demo_customers = demo_customers  # 0: no demo data
        self.out = Output()
        self.env = dict(
            os.environ, CDP_MODE=os.environ.get("CDP_MODE", "demo"), PYTHONUNBUFFERED="1"
        )
        self.servers, self.children = [], []
        self.stopping = threading.Event()
        self.demo_mode = self.env["CDP_MODE"] == "demo"

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        try:
            self._start_services()
            self._prepare()
            self._start_apps()
            if self.demo_mode:
                self._start_demo_mailbox()
            self._announce()
            self._start_demo_data()
            return self._watch()
        except KeyboardInterrupt:
            return 0
        finally:
            self._shutdown()

    def _stop_stale_servers(self) -> None:
        # Before the port checks: a server left by a crashed run holds our own port.
        if not self.env.get("DATABASE_URL") and embedded.stop_stale_postgres(self.var_dir / "pg"):
            self.out.say(
                "up      | postgres: stopped an embedded PostgreSQL left running by an earlier run"
            )
        if not self.env.get("REDIS_URL") and embedded.stop_stale_redis(self.var_dir / "redis"):
            self.out.say(
                "up      | redis: stopped an embedded Redis left running by an earlier run"
            )

    def _start_services(self) -> None:
        self._stop_stale_servers()
        if not self.env.get("DATABASE_URL"):
            self.ports["pg"] = choose_port(
                wanted=self.ports["pg"], what="PostgreSQL", flag="--pg-port"
            )
        if not self.env.get("REDIS_URL"):
            self.ports["redis"] = choose_port(
                wanted=self.ports["redis"], what="Redis", flag="--redis-port"
            )
        self.ports["web"] = choose_port(
            wanted=self.ports["web"], what="the web server", flag="--port"
        )
        log = open(self.var_dir / "services.log", "ab")  # noqa: SIM115 (lives as long as us)
        self.servers = start_missing_services(
            env=self.env,
            var_dir=self.var_dir,
            durable=True,
            pg_port=self.ports["pg"],
            redis_port=self.ports["redis"],
            log=log,
        )
        for server in self.servers:
            for note in server.notes:
                self.out.say(f"up      | {server.name}: {note}")
            self.out.say(
                f"up      | embedded {server.name} running at {server.url} (log: var/services.log)"
            )

    def _manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=self.base_dir, env=self.env, check=True
        )

    def _prepare(self) -> None:
        self.out.say("up      | applying migrations …")
        self._manage("migrate", "--noinput", "-v", "0")
        self._manage("collectstatic", "--noinput", "-v", "0")
        self._manage("demo_users")
        if self.demo_customers:  # segments first: they fill in live as the demo data arrives
            self._manage("demo_segments")
        if self.demo_mode:
            wanted = DEMO_MAILBOX_PORT
            free = embedded.port_is_free(wanted)
            self.ports["mailbox"] = wanted if free else embedded.free_port_near(wanted)
        if self.demo_mode and self.demo_customers:  # started before their events arrive
            self._manage("demo_journeys", "--mailbox-port", str(self.ports["mailbox"]))

    def _spawn(
        self, name: str, argv: list[str], stop_signal=signal.SIGTERM, oneshot: bool = False
    ) -> None:
        process = subprocess.Popen(
            argv,
            cwd=self.base_dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.out.attach(name, process)
        self.children.append(Child(name, process, stop_signal, oneshot))

    def _start_apps(self) -> None:
        bin_dir = Path(sys.executable).parent
        self._spawn(
            "web",
            [
                str(bin_dir / "gunicorn"),
                "cdp_site.wsgi",
                "--bind",
                f"127.0.0.1:{self.ports['web']}",
                "--workers",
                str(self.workers),
                "--threads",
                "4",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "10",
            ],
        )
        self._spawn(
            "worker",
            [
                str(bin_dir / "celery"),
                "-A",
                "cdp_site",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--hostname",
                "worker@%h",
            ],
        )
        self._spawn(
            "beat",
            [
                str(bin_dir / "celery"),
                "-A",
                "cdp_site",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.var_dir / "celerybeat-schedule"),
            ],
        )

    def _start_demo_mailbox(self) -> None:
        """The demo's local SMTP server, which keeps what the journeys send."""
        self._spawn(
            "mailbox",
            [sys.executable, "manage.py", "demo_mailbox", "--port", str(self.ports["mailbox"])],
            oneshot=True,  # without it e-mails wait and retry; the product runs on
        )

    def _announce(self) -> None:
        embedded.wait_for_port(self.ports["web"], timeout=60, proc=self.children[0].process)
        url = f"http://127.0.0.1:{self.ports['web']}/"
        bar = "=" * 64
        self.out.say(
            f"up      | {bar}\nup      | CDP is running at {url}\n"
            f"up      | Log in with the demo logins printed above. Ctrl-C stops "
            f"everything.\n"
            + (
                f"up      | Demo mailbox (the journeys' e-mails): {url}demo/mailbox/\n"
                if self.demo_mode
                else ""
            )
            + f"up      | {bar}"
        )

    def _start_demo_services(self) -> None:
        """The demo's pulled systems (CRM and shop imitations its connections sync)."""
        self._spawn(
            "demo-services",
            [sys.executable, "manage.py", "demo_services"]
            + ["--customers", str(self.demo_customers)],
            oneshot=True,  # a demo service that stops must not stop the product
        )

    def _start_demo_data(self) -> None:
        marker = self.var_dir / "demo" / "loaded"  # written by demo_data after a full load
        if not self.demo_customers:
            return
        self._start_demo_services()
        if marker.exists():
            self.out.say("up      | demo data already loaded (delete var/demo/loaded to reload)")
            return
        url = f"http://127.0.0.1:{self.ports['web']}"
        self.out.say(
            f"up      | loading demo data in the background ({self.demo_customers:,} customers)"
        )
        self._spawn(
            "demo",
            [sys.executable, "manage.py", "demo_data"]
            + ["--customers", str(self.demo_customers), "--url", url],
            oneshot=True,
        )

    def _watch(self) -> int:
        while not self.stopping.wait(0.5):
            for child in list(self.children):
                if child.oneshot and child.process.poll() is not None:
                    code = child.process.returncode
                    outcome = "finished" if code == 0 else f"failed (exit code {code})"
                    self.out.say(
                        f"up      | {child.name} {outcome}; everything else keeps running."
                    )
                    self.children.remove(child)
                elif child.process.poll() is not None:
                    self.out.say(
                        f"up      | {child.name} exited with code "
                        f"{child.process.returncode}; stopping everything."
                    )
                    return 1
        return 0

    def _shutdown(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan anything
        if self.children or self.servers:
            self.out.say("up      | stopping …")
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(child.stop_signal)
        deadline = time.monotonic() + 20
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
        stop_all(self.servers)
        self.out.say("up      | stopped.")
