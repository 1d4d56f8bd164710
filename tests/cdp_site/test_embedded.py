"""Embedded servers: a leftover of a crashed run is stopped; anything else is left alone."""

import socket
import subprocess
import sys

import psutil

from cdp_site.dev import embedded


def test_leftover_redis_of_this_data_dir_is_stopped(tmp_path):
    server = embedded.start_redis(
        data_dir=tmp_path / "redis", port=embedded.any_free_port(), durable=False
    )
    pid = server.process.pid
    # A crashed run: nobody stops it; the next start finds its pid file.
    restarted = embedded.start_redis(
        data_dir=tmp_path / "redis", port=embedded.any_free_port(), durable=False
    )
    try:
        assert "stopped an embedded Redis left running by an earlier run" in restarted.notes
        server.process.wait(timeout=10)
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    finally:
        restarted.stop()


def test_a_pid_file_naming_someone_elses_process_stops_nothing(tmp_path):
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (data_dir / "redis.pid").write_text(str(stranger.pid))
        assert embedded.stop_stale_redis(data_dir) is False
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_port_taken_by_another_program_is_reported_with_the_option_to_change_it(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        try:
            embedded.start_redis(data_dir=tmp_path / "redis", port=port, durable=False)
        except embedded.PortInUse as exc:
            message = str(exc)
        else:
            raise AssertionError("expected PortInUse")
    assert f"port {port}" in message and "--redis-port" in message
