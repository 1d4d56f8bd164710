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


def _django(env: dict, tmp_path, code: str = PRINT_SETTINGS) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "SECRET_KEY_FALLBACKS",
            "ALLOWED_HOSTS",
            "DEBUG",
            "CDP_MODE",
            "SECURE_SSL",
        }
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "cdp_site.settings", "CDP_VAR_DIR": str(tmp_path)})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
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
    assert result.stdout.split() == ["False", "True", "31536000", "['cdp.example.com']"]


def test_production_is_secure_unless_secure_ssl_says_false(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_SSL_REDIRECT)"
    )
    production = {"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "a.example"}
    assert _python(code, production, tmp_path).split() == ["True", "True", "31536000", "True"]
    plain_http = _python(code, {**production, "SECURE_SSL": "false"}, tmp_path)
    assert plain_http.split() == ["False", "False", "0", "False"]


def test_demo_and_test_modes_run_over_plain_http(tmp_path):
    for mode in ("demo", "test"):
        result = _django({"CDP_MODE": mode}, tmp_path)
        assert result.returncode == 0, result.stderr
        _, secure_cookie, hsts, _ = result.stdout.split(maxsplit=3)
        assert (secure_cookie, hsts) == ("False", "0"), mode


def test_an_unsubscribe_link_signed_before_a_key_rotation_still_works(tmp_path):
    # Sent under the old key; read by a server whose new key lists the old one as fallback.
    code = (
        "import django; django.setup(); from campaigns import tracking; "
        "print(tracking.read_token(TOKEN, tracking.UNSUBSCRIBE_SALT))"
    )
    old, new = "old-" + "x" * 50, "new-" + "y" * 50
    token = _python(
        "import django; django.setup(); from campaigns import tracking; "
        "print(tracking.make_token(42, tracking.UNSUBSCRIBE_SALT))",
        {"SECRET_KEY": old, "CDP_MODE": "test"},
        tmp_path,
    ).strip()
    rotated = {"SECRET_KEY": new, "SECRET_KEY_FALLBACKS": old, "CDP_MODE": "test"}
    assert _python(code.replace("TOKEN", repr(token)), rotated, tmp_path).strip() == "42"
    refused = _django_code(
        code.replace("TOKEN", repr(token)), {"SECRET_KEY": new, "CDP_MODE": "test"}, tmp_path
    )
    assert refused.returncode != 0 and "This link is not valid" in refused.stderr


def test_one_proxy_count_sets_every_reader_of_the_client_address(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.ALLAUTH_TRUSTED_PROXY_COUNT, s.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    assert _python(code, {"CDP_MODE": "test"}, tmp_path).split() == ["0", "0"]
    behind_two = {"CDP_MODE": "test", "CDP_TRUSTED_PROXY_COUNT": "2"}
    assert _python(code, behind_two, tmp_path).split() == ["2", "2"]


def test_generated_key_files_are_created_and_kept_owner_only(tmp_path):
    (tmp_path / "secret_key").write_text("k" * 50)
    (tmp_path / "secret_key").chmod(0o644)  # left by an older version
    result = _django({"CDP_MODE": "demo"}, tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("secret_key", "encryption_key"):
        assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600", name
    assert (tmp_path / "secret_key").read_text() == "k" * 50


def _django_code(code: str, env: dict, tmp_path) -> subprocess.CompletedProcess:
    return _django(env, tmp_path, code=code)


def _python(code: str, env: dict, tmp_path) -> str:
    result = _django_code(code, env, tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout


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


PRINT_REDIS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.REDIS_URL, s.CELERY_BROKER_URL)"
)


def test_each_test_worker_has_a_redis_database_of_its_own_and_nothing_else_moves(tmp_path):
    url = "redis://127.0.0.1:6400/0"
    given = {"REDIS_URL": url, "CELERY_BROKER_URL": url}
    worker = {**given, "CDP_MODE": "test", "PYTEST_XDIST_WORKER": "gw3"}
    found = _django(worker, tmp_path, PRINT_REDIS)
    assert found.stdout.split() == ["redis://127.0.0.1:6400/4"] * 2, found.stderr
    # Not a test run: the URL as given, whatever the environment says of workers.
    demo = {**given, "CDP_MODE": "demo", "PYTEST_XDIST_WORKER": "gw3"}
    assert _django(demo, tmp_path, PRINT_REDIS).stdout.split() == ["redis://127.0.0.1:6400/0"] * 2
