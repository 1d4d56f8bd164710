"""Local imitations of the ad platforms' audience APIs, as documented, on loopback: Meta's
Custom Audience users edge and Google's Data Manager API with its OAuth token endpoint.
Built on demo/imitations/server.py (``fail_next`` answers the next request with a fault:
a 429 with Retry-After, a 500; ``requests`` keeps what was asked).

Meta (``meta()``): ``POST``/``DELETE /v25.0/{audience_id}/users`` with ``{"payload":
{"schema", "data"}, "session"}``, Bearer token. At most 10,000 rows. Answers
``{"audience_id", "session_id", "num_received", "num_invalid_entries",
"invalid_entry_samples"}``; errors ``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}`` (190 a bad token, 100/33 an unknown audience).

Google (``google()``): ``POST /token`` (refresh-token grant), ``POST /v1/audienceMembers:
ingest`` and ``:remove``, ``GET /v1/requestStatus:retrieve``. A member with an identifier
that is not 64 lower-case hex, or listed in ``state["invalid"]``, fails the whole request
(fast fail) with a BadRequest naming ``audience_members[i]``.
"""

from __future__ import annotations

import itertools
import re
import uuid
from urllib.parse import parse_qs

import pytest

from demo.imitations.server import Imitation, Request

HEX64 = re.compile(r"^[0-9a-f]{64}$")
_tokens = itertools.count(1)


# --- Meta -----------------------------------------------------------------------------


def meta_error(status: int, message: str, code: int, subcode: int | None = None, kind="") -> tuple:
    error = {
        "message": message,
        "type": kind or ("OAuthException" if code in (100, 190) else "GraphMethodException"),
        "code": code,
        "fbtrace_id": uuid.uuid4().hex[:11],
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return status, {}, {"error": error}


def _meta(imitation: Imitation, request: Request):
    state = imitation.state
    found = re.fullmatch(r"/v[\d.]+/(\d+)/users", request.path)
    if request.headers.get("authorization") != f"Bearer {state['token']}":
        return meta_error(400, "Error validating access token: Session has expired.", 190, 463)
    if found is None or found.group(1) not in state["audiences"]:
        audience = found.group(1) if found else request.path
        return meta_error(
            400,
            f"Unsupported post request. Object with ID '{audience}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            100,
            33,
        )
    body = request.json() or {}
    payload = body.get("payload") or {}
    data = payload.get("data") or []
    if payload.get("schema") != ["EMAIL_SHA256", "PHONE_SHA256"] or len(data) > 10_000:
        return meta_error(400, "Invalid parameter: payload", 100, 2650)
    if body.get("session"):
        state["sessions"].append({"method": request.method, **body["session"]})
    members = state["audiences"][found.group(1)]
    invalid = {}
    for row in data:
        bad = [v for v in row if v and (not HEX64.match(v) or v in state["invalid"])]
        if bad:
            invalid.update(dict.fromkeys(bad, "Invalid hashed value"))
            continue
        if request.method == "POST":
            members.add(tuple(row))
        else:
            _forget(members, tuple(row))
    return (
        200,
        {},
        {
            "audience_id": found.group(1),
            "session_id": str((body.get("session") or {}).get("session_id") or next(_tokens)),
            "num_received": len(data),
            "num_invalid_entries": len(invalid),
            "invalid_entry_samples": invalid,
        },
    )


def _shares(member, row) -> bool:
    return any(a and a == b for a, b in zip(member, row, strict=False))


def _forget(members: set, row: tuple) -> None:
    """Removes the member with these hashes (any member sharing one when none matches
    exactly: the platforms match on each identifier)."""
    if row in members:
        members.discard(row)
    else:
        members.difference_update({m for m in members if _shares(m, row)})


def meta(
    *,
    token: str = "meta-token",  # noqa: S107
    audiences=("23850000000000001",),
) -> Imitation:
    """Meta's Graph API with these audiences (empty); ``state["audiences"][id]`` holds
    the rows each audience has, ``state["sessions"]`` the upload sessions' parts."""
    state = {
        "token": token,
        "audiences": {a: set() for a in audiences},
        "sessions": [],
        "invalid": set(),
    }
    return Imitation(handler=_meta, state=state).start()


# --- Google ---------------------------------------------------------------------------


def google_error(status: int, state: str, message: str, details=()) -> tuple:
    body = {"error": {"code": status, "message": message, "status": state}}
    body["error"]["details"] = [
        *details,
        {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": uuid.uuid4().hex},
    ]
    return status, {}, body


def _token(imitation: Imitation, request: Request):
    form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
    state = imitation.state
    state["token_requests"] += 1
    if form.get("grant_type") != "refresh_token" or form.get("client_secret") != state["secret"]:
        return 401, {}, {"error": "invalid_client", "error_description": "Unauthorized"}
    if form.get("refresh_token") != state["refresh_token"]:
        return (
            400,
            {},
            {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            },
        )
    token = f"ya29.imitation-{next(_tokens)}"
    state["access_tokens"].add(token)
    return 200, {}, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}


def _violations(members, invalid) -> list[dict]:
    found = []
    for i, member in enumerate(members):
        ids = ((member.get("userData") or {}).get("userIdentifiers")) or []
        for j, identifier in enumerate(ids):
            value = next(iter(identifier.values()), "")
            if not HEX64.match(str(value)) or value in invalid:
                found.append(
                    {
                        "field": f"audience_members[{i}].user_data.user_identifiers[{j}]",
                        "description": "The hashed value is not a valid SHA-256 hex string.",
                        "reason": "INVALID_SHA256_FORMAT",
                    }
                )
    return found


def _members(imitation: Imitation, request: Request, verb: str):
    state = imitation.state
    body = request.json() or {}
    target = (body.get("destinations") or [{}])[0]
    account = (target.get("operatingAccount") or {}).get("accountId")
    list_id = target.get("productDestinationId")
    if account != state["account"] or list_id not in state["lists"]:
        return google_error(404, "NOT_FOUND", f"User list {list_id} was not found.")
    members = body.get("audienceMembers") or []
    if not members or len(members) > 10_000:
        return google_error(400, "INVALID_ARGUMENT", "Between 1 and 10000 audience members.")
    violations = _violations(members, state["invalid"])
    if violations:
        detail = {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": violations,
        }
        return google_error(
            400, "INVALID_ARGUMENT", "Request contains an invalid argument.", [detail]
        )
    if verb == "ingest" and body.get("consent") is None:
        return google_error(400, "INVALID_ARGUMENT", "Consent is required.")
    rows = state["lists"][list_id]
    for member in members:
        row = _row(member)
        if verb == "ingest":
            rows.add(row)
        else:
            _forget(rows, row)
    request_id = uuid.uuid4().hex
    state["requests"][request_id] = (verb, len(members))
    return 200, {}, {"requestId": request_id}


def _row(member) -> tuple[str, str]:
    ids = member["userData"]["userIdentifiers"]
    email = next((i["emailAddress"] for i in ids if "emailAddress" in i), "")
    phone = next((i["phoneNumber"] for i in ids if "phoneNumber" in i), "")
    return (email, phone)


def _status(imitation: Imitation, request: Request):
    verb, count = imitation.state["requests"].get(request.query.get("requestId"), (None, 0))
    if verb is None:
        return google_error(404, "NOT_FOUND", "Request not found.")
    if verb == "ingest":
        status = {
            "audienceMembersIngestionStatus": {
                "userDataIngestionStatus": {
                    "recordCount": str(count),
                    "userIdentifierCount": str(count),
                    "uploadMatchRateRange": imitation.state["match_rate"],
                }
            }
        }
    else:
        status = {
            "audienceMembersRemovalStatus": {"userDataRemovalStatus": {"recordCount": str(count)}}
        }
    return 200, {}, {"requestStatusPerDestination": [{"requestStatus": "SUCCESS", **status}]}


def _google(imitation: Imitation, request: Request):
    if request.path == "/token":
        return _token(imitation, request)
    auth = request.headers.get("authorization", "").removeprefix("Bearer ")
    if auth not in imitation.state["access_tokens"]:
        return google_error(
            401, "UNAUTHENTICATED", "Request had invalid authentication credentials."
        )
    if request.path in ("/v1/audienceMembers:ingest", "/v1/audienceMembers:remove"):
        return _members(imitation, request, request.path.rsplit(":", 1)[1])
    if request.path == "/v1/requestStatus:retrieve":
        return _status(imitation, request)
    return google_error(404, "NOT_FOUND", f"{request.path} not found.")


def google(
    *,
    account: str = "1234567890",
    lists=("5550001",),
    refresh_token: str = "1//refresh-imitation",  # noqa: S107
    secret: str = "client-secret",  # noqa: S107
) -> Imitation:
    """The Data Manager API and Google's token endpoint: ``state["lists"][id]`` holds each
    Customer Match list's rows; ``state["refresh_token"]`` is the one accepted (change it
    to play a revoked token); ``state["access_tokens"]`` the tokens issued."""
    state = {
        "account": account,
        "lists": {list_id: set() for list_id in lists},
        "refresh_token": refresh_token,
        "secret": secret,
        "access_tokens": set(),
        "token_requests": 0,
        "requests": {},
        "invalid": set(),
        "match_rate": "MATCH_RATE_RANGE_20_TO_30",
    }
    return Imitation(handler=_google, state=state).start()


# --- what tests share -----------------------------------------------------------------

META_AUDIENCE = "23850000000000001"
GOOGLE_LIST = "5550001"
GOLD_RULE = {
    "version": 1,
    "root": {
        "type": "group",
        "match": "all",
        "children": [{"type": "trait", "key": "tier", "op": "equals", "value": "gold"}],
    },
}


@pytest.fixture
def meta_api():
    server = meta(audiences=(META_AUDIENCE, "23850000000000002"))
    yield server
    server.stop()


@pytest.fixture
def google_api():
    server = google(lists=(GOOGLE_LIST,))
    yield server
    server.stop()


def meta_destination(server: Imitation, **config):
    from integrations.destinations import services

    return services.create_destination(
        name="Meta ads",
        kind="meta_custom_audience",
        config={"api_base": f"{server.url}v25.0", **config},
        secrets={"access_token": "meta-token"},
    )


def google_destination(server: Imitation, **config):
    from integrations.destinations import services

    return services.create_destination(
        name="Google Ads",
        kind="google_data_manager",
        config={
            "api_base": f"{server.url}v1",
            "token_url": f"{server.url}token",
            "client_id": "client.apps.googleusercontent.com",
            "operating_account_id": "123-456-7890",
            **config,
        },
        secrets={"client_secret": "client-secret", "refresh_token": "1//refresh-imitation"},
    )
