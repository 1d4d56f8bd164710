"""A real gunicorn server for the benchmarks, as a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from cdp_site.dev import embedded

BASE_DIR = Path(__file__).resolve().parent.parent

# 2 cores: two worker processes per core, two threads each. A keep-alive connection stays
# with the worker that accepted it, so with one worker per core one of them often holds
# most connections while the other idles; more processes spread them, and two threads
# keep a worker busy while a request waits on PostgreSQL without a GIL convoy. (Measured
# here: 4x2 gave the best batch figure, /v1/track about the same as 2x4 and 2x2.)
WORKERS = int(os.environ.get("CDP_BENCH_WORKERS", "4"))
THREADS = int(os.environ.get("CDP_BENCH_THREADS", "2"))


def settings_text() -> str:
    return f"gunicorn gthread, {WORKERS} workers x {THREADS} threads"


class Gunicorn:
    def __init__(self, app: str, *, name: str, env: dict, log_dir: Path):
        self.app, self.name, self.env = app, name, env
        self.log_path = log_dir / f"gunicorn-{name}.log"
        self.port = 0
        self.process: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        self.port = embedded.any_free_port()
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        argv = [
            gunicorn,
            self.app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--keep-alive",
            "10",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        embedded.wait_for_port(self.port, timeout=60, proc=self.process)
        deadline = time.monotonic() + 60
        while len(self.worker_pids()) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.1)
        return self

    def worker_pids(self) -> list[int]:
        try:
            return [c.pid for c in psutil.Process(self.process.pid).children()]
        except psutil.Error:
            return []

    def worker_rss_mb(self) -> float:
        """Resident memory of all worker processes together, in MB."""
        total = 0
        for pid in self.worker_pids():
            with contextlib.suppress(psutil.Error):
                total += psutil.Process(pid).memory_info().rss
        return total / 1e6

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
