"""Run a command with the embedded PostgreSQL and Redis beside it (the test command uses it).

    python -m cdp_site.dev.devservices -- pytest
    python -m cdp_site.dev.devservices --durable -- python -m bench

DATABASE_URL / REDIS_URL already set are used as they are; whatever is missing is
started from the wheels on free ports, with data under var/test/, and stopped
when the command ends. The command's exit code is passed on.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from cdp_site.dev import embedded

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def start_missing_services(
    *,
    env: dict,
    var_dir: Path,
    durable: bool,
    pg_port: int | None = None,
    redis_port: int | None = None,
    database: str = "cdp",
    log=subprocess.DEVNULL,
):
    """Starts the embedded servers that ``env`` does not point elsewhere; fills in their URLs."""
    servers = []
    try:
        if not env.get("DATABASE_URL"):
            pg = embedded.start_postgres(
                data_dir=var_dir / "pg",
                port=pg_port or embedded.any_free_port(),
                database=database,
                durable=durable,
                stdout=log,
            )
            servers.append(pg)
            env["DATABASE_URL"] = pg.url
        if not env.get("REDIS_URL"):
            redis = embedded.start_redis(
                data_dir=var_dir / "redis",
                port=redis_port or embedded.any_free_port(),
                durable=durable,
                stdout=log,
            )
            servers.append(redis)
            env["REDIS_URL"] = redis.url
    except BaseException:
        stop_all(servers)
        raise
    return servers


def stop_all(servers) -> None:
    for server in reversed(servers):
        server.stop()


def main(argv: list[str]) -> int:
    # --durable: PostgreSQL with fsync on, as in production (the benchmarks use it).
    durable = bool(argv) and argv[0] == "--durable"
    if durable:
        argv = argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.setdefault("CDP_MODE", "test")
    # A fresh directory per run: two test runs at once must not see each other's
    # server as a stale one to stop.
    runs_dir = Path(env.get("CDP_VAR_DIR", BASE_DIR / "var")) / "test"
    runs_dir.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="run-", dir=runs_dir))
    servers = start_missing_services(env=env, var_dir=var_dir, durable=durable)
    for server in servers:
        print(f"devservices: embedded {server.name} at {server.url}", file=sys.stderr)
    child = subprocess.Popen(argv, env=env)
    # Ctrl-C reaches the child through the terminal; TERM from CI is passed on by hand.
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    except KeyboardInterrupt:
        return child.wait()
    finally:
        stop_all(servers)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
