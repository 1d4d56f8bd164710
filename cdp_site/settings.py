"""Settings, all read from the environment (see the table in README.md).

CDP_MODE is ``production`` (default), ``demo`` (the ``up`` runner) or ``test``.
Production refuses to start without SECRET_KEY and ALLOWED_HOSTS; demo and test
generate what they need under var/.
"""

import ipaddress
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
import plotly
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from .schedule import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

CDP_MODE = env.str("CDP_MODE", default="production")
if CDP_MODE not in {"production", "demo", "test"}:
    raise ImproperlyConfigured(f"CDP_MODE must be production, demo or test, not {CDP_MODE!r}")
VAR_DIR = Path(env.str("CDP_VAR_DIR", default=str(BASE_DIR / "var")))
EMBEDDED_PG_PORT = env.int("CDP_PG_PORT", default=54329)
EMBEDDED_REDIS_PORT = env.int("CDP_REDIS_PORT", default=63799)

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if CDP_MODE == "production":
        sys.exit(
            "SECRET_KEY is not set. Set it to a long random value (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or run the demo "
            "with `make demo`."
        )
    # Demo and test keep one generated key under var/, so sessions survive restarts.
    return _private_key_file(VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50))


def _private_key_file(path: Path, generate) -> str:
    """A key generated under var/, readable by its owner only (0600).

    Created with its mode in one step (never readable by others, even for a moment) and
    exclusively (a web server and a worker starting together keep one key); a file left
    by an older version with looser bits is tightened.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    else:
        with os.fdopen(fd, "w") as file:
            file.write(generate())
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Former keys, comma-separated, still accepted when verifying signatures (sessions,
# password-reset and unsubscribe links in e-mails already sent) after a key rotation.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])


# --- destinations: encryption at rest (integrations.destinations; see cdp_site/crypto.py) ---
def _encryption_keys() -> list[str]:
    """Fernet keys, comma-separated: the first encrypts, all decrypt (rotation)."""
    keys = env.list("CDP_ENCRYPTION_KEYS", default=[])
    if keys:
        return keys
    if CDP_MODE == "production":
        # Refused where it matters, with ENCRYPTION_KEYS_MISSING as the message: the system
        # check (migrate, runserver, check) and the first encrypt/decrypt (cdp_site/crypto.py).
        return []
    # Demo and test keep one generated key under var/, so stored credentials stay readable.
    from cryptography.fernet import Fernet

    return [_private_key_file(VAR_DIR / "encryption_key", lambda: Fernet.generate_key().decode())]


ENCRYPTION_KEYS_MISSING = (
    "CDP_ENCRYPTION_KEYS is not set. Set it to one Fernet key (for example the output of "
    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
    "), or run the demo with `make demo`."
)
CDP_ENCRYPTION_KEYS = _encryption_keys()
# --- end destinations: encryption at rest ---


# --- outgoing HTTP and exports (integrations/outbound.py, integrations/destinations) ---
def _outbound_allowed_networks() -> list[str]:
    """Addresses outgoing requests may reach although they are not public (loopback,
    private networks...). Production allows none unless an admin lists them."""
    default = [] if CDP_MODE == "production" else ["127.0.0.0/8", "::1/128"]
    entries = env.list("CDP_OUTBOUND_ALLOWED_NETWORKS", default=default)
    entries = [entry.strip() for entry in entries if entry.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"CDP_OUTBOUND_ALLOWED_NETWORKS: {entry!r} is not an address or a network "
                "(e.g. 10.1.2.3 or 10.1.0.0/16)."
            ) from None
    return entries


CDP_OUTBOUND_ALLOWED_NETWORKS = _outbound_allowed_networks()
# Pull connectors (integrations/connectors/http.py): how long one request to a service may
# take, and how large one page of its answer may be.
CDP_CONNECTOR_TIMEOUT_SECONDS = env.float("CDP_CONNECTOR_TIMEOUT_SECONDS", default=30.0)
CDP_CONNECTOR_MAX_PAGE_BYTES = env.int("CDP_CONNECTOR_MAX_PAGE_BYTES", default=16 * 1024 * 1024)
# CSV exports are written only inside this folder (a destination names a folder in it).
CDP_EXPORT_ROOT = Path(env.str("CDP_EXPORT_ROOT", default=str(VAR_DIR / "exports")))
# File-drop connectors read only folders inside these (a connection names one in them).
CDP_FILE_DROP_ROOTS = [
    Path(p) for p in env.list("CDP_FILE_DROP_ROOTS", default=[str(VAR_DIR / "drop")])
]
# A privacy request's export is downloaded through a signed link valid this many days.
CDP_PRIVACY_LINK_DAYS = env.int("CDP_PRIVACY_LINK_DAYS", default=7)
# --- end outgoing HTTP and exports ---

if CDP_MODE == "production" and not DEBUG:
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        sys.exit(
            "ALLOWED_HOSTS is not set. List the host names this server answers to, "
            "comma-separated (e.g. ALLOWED_HOSTS=cdp.example.com)."
        )
else:
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS hardening is one switch: on in production unless SECURE_SSL=false says the
# server is reached over plain http; off in demo and test, which run on http://127.0.0.1.
SECURE_SSL = env.bool("SECURE_SSL", default=CDP_MODE == "production")
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_SSL_REDIRECT = SECURE_SSL
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_SSL else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_SSL else None
# Reverse proxies in front of this server that append to X-Forwarded-For: the client's
# address is the N-th entry from the right (cdp_site/clientip.py). One number for every
# place that reads it: the collection API, the login rate limits, the API throttles.
CDP_TRUSTED_PROXY_COUNT = env.int("CDP_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = CDP_TRUSTED_PROXY_COUNT
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "cdp_site",
    "integrations",
    "profiles",
    "segments",
    "campaigns",
    "insights",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cdp_site.audit.RequestContext",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "cdp_site.middleware.RefuseNulCharacters",
    "cdp_site.middleware.RequireAdminMFA",
]

ROOT_URLCONF = "cdp_site.urls"
WSGI_APPLICATION = "cdp_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "cdp_site.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default=f"postgres://cdp@127.0.0.1:{EMBEDDED_PG_PORT}/cdp",
    )
}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# Off by default (as in Django): the check costs a query per request, and a connection
# broken by a database restart fails one request and is then replaced.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _own_redis_database(url: str) -> str:
    """``make test`` splits the tests over pytest-xdist workers: each worker uses a Redis
    database of its own (the processes its tests start are handed its URLs), so that one
    worker's queued tasks, broker purges and flags never meet another's. Outside a test
    run, the URL as given."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if CDP_MODE != "test" or not worker.startswith("gw") or not worker[2:].isdigit():
        return url
    return urlunsplit(urlsplit(url)._replace(path=f"/{1 + int(worker[2:])}"))


REDIS_URL = _own_redis_database(
    env.str("REDIS_URL", default=f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0")
)
CACHES = {
    "default": {
        # Django's Redis cache, failing open while Redis is down (see cdp_site/cache.py).
        "BACKEND": "cdp_site.cache.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="cdp"),
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

CELERY_BROKER_URL = _own_redis_database(env.str("CELERY_BROKER_URL", default=REDIS_URL))
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is redelivered, so tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Every task is stopped past its soft limit (SoftTimeLimitExceeded, which its transaction
# rolls back and its retry resumes from) and killed past the hard one. Longer passes
# declare their own (cdp_site/celery.py LONG_TASK); sliced tasks stay far below.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CDP_TASK_SOFT_TIME_LIMIT", default=5 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CDP_TASK_TIME_LIMIT", default=6 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Each kind of work has its own queue, so that a deployment can give each its own workers
# (`celery -A cdp_site worker -Q segments`). A worker started without -Q listens to all
# of them: the runner's, the tests' and the README's single worker do.
CELERY_TASK_DEFAULT_QUEUE = "celery"  # housekeeping, destinations, profiles' passes
CELERY_TASK_QUEUES = [
    Queue(name)
    for name in ("celery", "processing", "segments", "campaigns", "imports", "syncs", "matching")
]
CELERY_TASK_ROUTES = {
    "integrations.tasks.process_event_batch": {"queue": "processing"},
    "segments.tasks.*": {"queue": "segments"},
    "campaigns.tasks.*": {"queue": "campaigns"},
    "integrations.imports.tasks.*": {"queue": "imports"},
    "integrations.connectors.tasks.*": {"queue": "syncs"},
    # The warm matcher keeps every profile's row in memory: one worker process does it.
    "profiles.tasks.match_changed_profiles": {"queue": "matching"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE  # cdp_site/schedule.py
# Retention of the tables that only grow (README, configuration); 0 keeps forever. The
# purges run from beat (the *-purge-* entries above).
COLLECT_REJECTED_RETENTION_DAYS = env.int("CDP_REJECTED_EVENTS_RETENTION_DAYS", default=7)
COLLECT_MINUTE_STATS_RETENTION_DAYS = env.int("CDP_MINUTE_STATS_RETENTION_DAYS", default=7)
IMPORT_FILE_RETENTION_DAYS = env.int("CDP_IMPORT_FILE_RETENTION_DAYS", default=7)
# Memory of each sort or hash of the nightly recommendations run (campaigns/recommendations).
RECOMMENDATIONS_WORK_MEM_MB = env.int("CDP_RECOMMENDATIONS_WORK_MEM_MB", default=256)
DESTINATIONS_DEAD_LETTER_RETENTION_DAYS = env.int("CDP_DEAD_LETTER_RETENTION_DAYS", default=30)
CAMPAIGNS_STEP_LOG_RETENTION_DAYS = env.int("CDP_STEP_LOG_RETENTION_DAYS", default=365)
QUARANTINE_RETENTION_DAYS = env.int("CDP_QUARANTINE_RETENTION_DAYS", default=90)
# Events' retention (profiles/retention; the rules and the default months are set on its
# page): a raw month partition is dropped only this many days after its rule's cutoff
# passed its end, for events whose time is later than their receipt (clock skew).
RETENTION_EVENT_TIME_MARGIN_DAYS = env.int("CDP_RETENTION_EVENT_TIME_MARGIN_DAYS", default=7)
RETENTION_BATCH_SIZE = env.int("CDP_RETENTION_BATCH_SIZE", default=5000)
# Inactive profiles anonymised or deleted per run (the rest wait for the next day's run).
RETENTION_PROFILES_PER_RUN = env.int("CDP_RETENTION_PROFILES_PER_RUN", default=10000)
# The audit trail's whole months kept (cdp_site/audit.py); older months' partitions are
# dropped. Two years by default: long enough for a regulator's question about last year.
AUDIT_RETENTION_MONTHS = env.int("CDP_AUDIT_RETENTION_MONTHS", default=24)
COLLECT_PROCESSING_STEPS = [
    "integrations.processing.count_events_per_minute",
    "profiles.pipeline.resolve_batch",
]
# The stage step of processing (each profile's stage and its history, which the insights
# rollups follow). Off only for the throughput benchmark's baseline (bench/insights_throughput.py).
PROFILES_TRACK_STAGES = True
# Off, the stage step keeps each profile's current stage but records no stage history (and
# so no insights rollups): only for the throughput benchmark's baseline, the cost of both.
PROFILES_STAGE_HISTORY = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# allauth: e-mail and password; accounts are created by admins, not by sign-up.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "cdp_site.adapters.ClosedSignupAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# Multi-factor: TOTP (an authenticator app) with recovery codes, under /accounts/2fa/.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "CDP"
# Admins without TOTP are sent to set it up before anything else (cdp_site/middleware.py).
# On in production; demo and test users log in with a password alone.
CDP_REQUIRE_MFA_FOR_ADMINS = env.bool(
    "CDP_REQUIRE_MFA_FOR_ADMINS", default=CDP_MODE == "production"
)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CDP <cdp@localhost>")
# The public address of this server, the base of tracking links in sent e-mails (opens,
# clicks, unsubscribe): the address people's mail clients can reach.
CDP_PUBLIC_URL = env.str("CDP_PUBLIC_URL", default="http://localhost:8000").rstrip("/")

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# plotly.js is served from the plotly package's own file: no CDN, no copy in the repository.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/plotly", Path(plotly.__file__).parent / "package_data"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if CDP_MODE != "test" and not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = CDP_MODE == "test" or DEBUG
if WHITENOISE_USE_FINDERS:
    # Files come from the finders; WhiteNoise still scans STATIC_ROOT and warns if absent.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Request limits: the collection API sets its own, tighter per-message limits.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cdp_site.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cdp_site.api.permissions.HasCapability"],
    "DEFAULT_PAGINATION_CLASS": "cdp_site.api.pagination.CreatedCursorPagination",
    "DEFAULT_PARSER_CLASSES": [
        "cdp_site.api.parsers.JSONBodyParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # 0, not DRF's default None (which keys throttles on the whole, forgeable header).
    "NUM_PROXIES": CDP_TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
    },
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cdp_site.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CDP API",
    "DESCRIPTION": "REST API of the customer data platform. Authenticate with "
    "`Authorization: Token <your token>`; create tokens under Settings.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["cdp_site.api.permissions.HasCapability"],
    # Several models have a "kind" or a "status": each choice set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "SourceKindEnum": "integrations.models.Source.Kind",
        "SegmentKindEnum": "segments.models.Segment.Kind",
        "CampaignKindEnum": "campaigns.models.Campaign.Kind",
        "DestinationKindEnum": "integrations.destinations.models.Destination.Kind",
        "ImportStatusEnum": "integrations.imports.models.FileImport.Status",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "DeliveryStatusEnum": "campaigns.models.Delivery.Status",
        "ConsentStatusEnum": "profiles.models.consent.ConsentRecord.Status",
        "SyncRunStatusEnum": "integrations.connectors.models.SyncRun.Status",
        "SyncRunTriggerEnum": "integrations.connectors.models.SyncRun.Trigger",
        "PrivacyRequestKindEnum": "profiles.models.privacy.PrivacyRequest.Kind",
        "PrivacyRequestStatusEnum": "profiles.models.privacy.PrivacyRequest.Status",
        "PrivacyVerificationEnum": "profiles.models.privacy.PrivacyRequest.Verification",
        "MatchRunKindEnum": "profiles.models.matching.MatchRun.Kind",
        "MatchRunStatusEnum": "profiles.models.matching.MatchRun.Status",
        "MatchCandidateStatusEnum": "profiles.models.matching.MatchCandidate.Status",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {"ApiToken": {"type": "apiKey", "in": "header", "name": "Authorization"}}
    },
    "SECURITY": [{"ApiToken": []}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cdp_site.api.schema.add_error_responses",
    ],
}

# Content-Security-Policy: scripts only from us (and nonce'd inline config).
# Plotly and htmx inject inline styles, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Attribution: the currency of an order event that names none (profiles.attribution).
CDP_DEFAULT_CURRENCY = env.str("CDP_DEFAULT_CURRENCY", default="USD").upper()
