"""What each destination kind needs: its non-secret settings (``config``) and its secrets.

One table read by the forms, the serializers, the services and the adapters, so a kind's
fields are declared once.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str = "text"  # text | url | int | bool | path | purpose | list
    required: bool = False
    default: object = None
    help: str = ""
    # The address the secrets are sent to (url fields are, always): when it moves to
    # another host, stored secrets are dropped (see services.moved_secrets).
    endpoint: bool = False


@dataclass(frozen=True)
class KindSpec:
    config: tuple[Field, ...] = ()
    secrets: tuple[Field, ...] = field(default_factory=tuple)


# The purpose a webhook requires unless its admin names another: the marketing purpose
# the e-mail channels require too.
DEFAULT_PURPOSE = "email_marketing"

_TEST_URL = Field(
    "test_url", "Test URL", "url", help="Checked by Test connection (default: the endpoint)."
)
_TIMEOUT = Field("timeout", "Timeout (seconds)", "int", default=10)


_PHONE_REGION = Field(
    "phone_region",
    "Default phone region",
    default="US",
    help="Phone numbers without a country code are read as this region's (E.164 is sent).",
)


def _audience(*, endpoint_label: str, extra: tuple[Field, ...] = ()) -> KindSpec:
    """An ad platform's customer list: hashed e-mails and phones sent to one endpoint."""
    return KindSpec(
        config=(
            Field("endpoint", endpoint_label, "url", required=not extra),
            *extra,
            _PHONE_REGION,
            _TEST_URL,
            _TIMEOUT,
        ),
        secrets=(Field("access_token", "Access token", required=True),),
    )


# Meta's Marketing API: audience syncs post to {api_base}/{audience id}/users; the
# endpoint stays for journeys' one-person audience steps (adapters.audience_update).
_META_SYNC = (
    Field(
        "api_base",
        "Graph API base URL",
        "url",
        default="https://graph.facebook.com/v25.0",
        help="Audience syncs send to <base>/<audience id>/users.",
    ),
)

# Google Customer Match through the Data Manager API (the Google Ads API takes no new
# Customer Match adopters): OAuth 2 with a refresh token; the access token it yields is
# kept encrypted beside the secrets (oauth.py).
_GOOGLE_DATA_MANAGER = KindSpec(
    config=(
        Field(
            "api_base",
            "Data Manager API base URL",
            "url",
            default="https://datamanager.googleapis.com/v1",
        ),
        Field("token_url", "OAuth token URL", "url", default="https://oauth2.googleapis.com/token"),
        Field("client_id", "OAuth client id", required=True),
        Field(
            "operating_account_id",
            "Google Ads customer id",
            required=True,
            help="The account whose Customer Match lists receive the members (digits only).",
        ),
        Field(
            "login_account_id",
            "Manager account id",
            help="When the OAuth user reaches the account through a manager account.",
        ),
        _PHONE_REGION,
        _TIMEOUT,
    ),
    secrets=(
        Field("client_secret", "OAuth client secret", required=True),
        Field(
            "refresh_token",
            "Refresh token",
            required=True,
            help="From the OAuth consent of a user with access to the Google Ads account "
            "(scope https://www.googleapis.com/auth/datamanager).",
        ),
    ),
)


KINDS: dict[str, KindSpec] = {
    "smtp": KindSpec(
        config=(
            Field("host", "SMTP host", required=True, endpoint=True),
            Field("port", "Port", "int", required=True, default=587),
            Field("username", "User name"),
            Field("from_email", "From address", required=True),
            Field("starttls", "Use STARTTLS", "bool", default=True),
            Field(
                "tls",
                "Use TLS from the start (SMTPS)",
                "bool",
                default=False,
                help="Implicit TLS, usually port 465. With a user name, STARTTLS or this is "
                "required: a password is never sent in clear text.",
            ),
            _TIMEOUT,
            Field(
                "bounce_folder",
                "Bounce folder",
                "path",
                help="A maildir inside the export root (CDP_EXPORT_ROOT) that the bounce "
                "mailbox is delivered to: DSNs (RFC 3464) in its new/ folder are read every "
                "few minutes and moved to cur/ (unreadable ones to failed/).",
            ),
        ),
        secrets=(
            Field("password", "Password"),
            Field(
                "events_secret",
                "Delivery events secret",
                help="Signs the bounce/complaint webhook: X-CDP-Signature: sha256=<HMAC-SHA256 "
                "of the body>. Without it the webhook is refused.",
            ),
        ),
    ),
    "webhook": KindSpec(
        config=(
            Field("url", "URL", "url", required=True),
            Field(
                "consent_purpose",
                "Consent purpose required",
                "purpose",
                required=True,
                default=DEFAULT_PURPOSE,
                help="People without a current grant for this purpose are skipped.",
            ),
            Field(
                "traits",
                "Traits to send",
                "list",
                help="Comma-separated trait keys (e.g. firstName, tier). Only these are sent, "
                "with the profile id and the campaign and event context; none when empty.",
            ),
            _TEST_URL,
            _TIMEOUT,
        ),
        secrets=(
            Field(
                "signing_secret",
                "Signing secret",
                required=True,
                help="Signs each body: X-CDP-Signature: sha256=<HMAC>.",
            ),
        ),
    ),
    "google_customer_match": _audience(endpoint_label="Audience endpoint"),
    "meta_custom_audience": _audience(endpoint_label="Audience users endpoint", extra=_META_SYNC),
    "google_data_manager": _GOOGLE_DATA_MANAGER,
    "esp_list": KindSpec(
        config=(
            Field("base_url", "API base URL", "url", required=True),
            Field("list_id", "List id", required=True),
            _TIMEOUT,
        ),
        secrets=(Field("api_key", "API key", required=True),),
    ),
    "sms": KindSpec(
        config=(
            Field(
                "base_url",
                "API base URL",
                "url",
                required=True,
                default="https://api.twilio.com",
                help="A Twilio-compatible REST API: messages are POSTed to "
                "{base}/2010-04-01/Accounts/{AccountSid}/Messages.json.",
            ),
            Field("account_sid", "Account SID", required=True),
            Field("from_number", "From number", required=True, help="E.164, e.g. +14155550100."),
            Field(
                "default_region",
                "Default phone region",
                default="US",
                help="The country of numbers stored without a country code (ISO code, e.g. NL).",
            ),
            _TIMEOUT,
        ),
        secrets=(
            Field(
                "auth_token",
                "Auth token",
                required=True,
                help="Authenticates the API calls and checks X-Twilio-Signature on callbacks.",
            ),
        ),
    ),
    "csv_export": KindSpec(
        config=(
            Field(
                "folder",
                "Folder",
                "path",
                required=True,
                help='A folder inside the export root (CDP_EXPORT_ROOT), e.g. "segments/nightly".',
            ),
            Field("segment_id", "Segment id (scheduled export)", "int"),
            Field("every_hours", "Every (hours)", "int"),
        ),
    ),
}


def spec(kind: str) -> KindSpec:
    return KINDS[kind]


def as_list(value) -> list[str]:
    """A "list" setting from a list or a comma-separated text: trimmed, no blanks or repeats."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


# Hook: the consent purposes a destination may require (slug, label), registered at start-up
# by the app that owns consent (campaigns/apps.py); integrations never imports it.
_PURPOSE_READERS: list[Callable[[], list[tuple[str, str]]]] = []


def register_consent_purposes(read: Callable[[], list[tuple[str, str]]]) -> None:
    if read not in _PURPOSE_READERS:
        _PURPOSE_READERS.append(read)


def consent_purposes() -> list[tuple[str, str]] | None:
    """(slug, label) of every purpose; None when no app registered them."""
    if not _PURPOSE_READERS:
        return None
    return [choice for read in _PURPOSE_READERS for choice in read()]
