"""Production settings refuse to start unsafe; demo and test generate what they need."""

import os
import subprocess
import sys

from django.conf import settings

BASE_DIR = settings.BASE_DIR
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.ALLOWED_HOSTS)"
)


def _django(env: dict, tmp_path) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "CDP_MODE", "SECURE_SSL"}
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "cdp_site.settings", "CDP_VAR_DIR": str(tmp_path)})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_secret_key_refuses_to_start_with_a_clear_message(tmp_path):
    result = _django({"ALLOWED_HOSTS": "cdp.example.com"}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_allowed_hosts_refuses_to_start(tmp_path):
    result = _django({"SECRET_KEY": "x" * 50}, tmp_path)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_production_defaults_are_safe(tmp_path):
    result = _django({"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "cdp.example.com"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "0", "['cdp.example.com']"]


def test_secure_ssl_turns_on_secure_cookies_and_hsts(tmp_path):
    result = _django(
        {"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "a.example", "SECURE_SSL": "1"}, tmp_path
    )
    debug, secure_cookie, hsts, _ = result.stdout.split(maxsplit=3)
    assert (debug, secure_cookie, int(hsts)) == ("False", "True", 31536000)


def test_demo_mode_generates_and_keeps_one_secret_key(tmp_path):
    first = _django({"CDP_MODE": "demo"}, tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    _django({"CDP_MODE": "demo"}, tmp_path)
    assert key_file.read_text() == key


def test_unknown_mode_is_refused(tmp_path):
    result = _django({"CDP_MODE": "staging"}, tmp_path)
    assert result.returncode != 0
    assert "CDP_MODE must be production, demo or test" in result.stderr
