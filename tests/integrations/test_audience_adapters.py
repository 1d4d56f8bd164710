"""The audience sync adapters against local imitations of Meta's Custom Audience users edge
and Google's Data Manager API (tests/support/ad_platforms.py): the documented request
shapes, batch limit, OAuth refresh-token flow, error bodies and partial failures."""

import hashlib
import json

import pytest

from integrations.destinations import audience_platforms, audiences, oauth, services
from integrations.destinations.audiences import AudienceError
from tests.support import ad_platforms

pytestmark = pytest.mark.django_db

LIST = ad_platforms.GOOGLE_LIST
AUDIENCE = ad_platforms.META_AUDIENCE


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


ANN = (sha("ann@example.org"), sha("+31201234567"))
BOB = (sha("bob@example.org"), "")


@pytest.fixture
def google(google_api):
    return ad_platforms.google_destination(google_api, login_account_id="999")


@pytest.fixture
def meta(meta_api):
    return ad_platforms.meta_destination(meta_api)


def push(destination, rows, action="add", audience_id=LIST, **kwargs):
    return audience_platforms.push(
        destination, audience_id=audience_id, action=action, rows=rows, **kwargs
    )


def test_hash_member_normalises_email_and_phone():
    assert audiences.hash_member(" Ann@Example.ORG ", "020 123 4567", region="NL") == ANN
    assert audiences.hash_member("not an address", "12") == ("", "")


def test_google_ingest_sends_the_documented_request(google, google_api):
    result = push(google, [ANN, BOB])
    assert result.sent == 2 and result.request_id
    ingest = next(r for r in google_api.requests if r.path.endswith(":ingest"))
    body = ingest.json()
    assert body["destinations"] == [
        {
            "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
            "loginAccount": {"accountType": "GOOGLE_ADS", "accountId": "999"},
            "productDestinationId": LIST,
        }
    ]
    assert body["audienceMembers"][0] == {
        "userData": {"userIdentifiers": [{"emailAddress": ANN[0]}, {"phoneNumber": ANN[1]}]}
    }
    assert body["consent"] == {
        "adUserData": "CONSENT_GRANTED",
        "adPersonalization": "CONSENT_GRANTED",
    }
    assert (body["encoding"], body["termsOfService"]) == (
        "HEX",
        {"customerMatchTermsOfServiceStatus": "ACCEPTED"},
    )
    assert google_api.state["lists"][LIST] == {ANN, BOB}


def test_google_access_token_is_refreshed_once_and_stored_encrypted(google, google_api):
    push(google, [ANN])
    push(google, [BOB])
    assert google_api.state["token_requests"] == 1
    google.refresh_from_db()
    stored = services.get_secrets(destination=google)
    assert stored["access_token"] in google_api.state["access_tokens"]
    assert stored["access_token"] not in google.secrets_encrypted  # encrypted at rest
    token_request = next(r for r in google_api.requests if r.path == "/token")
    assert b"grant_type=refresh_token" in token_request.body


def test_google_refused_access_token_is_refreshed_and_the_request_retried(google, google_api):
    push(google, [ANN])
    google_api.state["access_tokens"].clear()  # revoked on Google's side
    assert push(google, [BOB]).sent == 1
    assert google_api.state["token_requests"] == 2


def test_google_revoked_refresh_token_is_an_auth_error(google, google_api):
    google_api.state["refresh_token"] = "1//other"
    with pytest.raises(AudienceError) as refused:
        push(google, [ANN])
    assert refused.value.reason == audiences.AUTH
    assert "invalid_grant" in refused.value.message and "reconnect" in refused.value.message


def test_google_rejected_members_are_set_aside_and_the_rest_sent(google, google_api):
    google_api.state["invalid"].add(BOB[0])
    result = push(google, [ANN, BOB, (sha("cy@example.org"), "")])
    assert result.rejected == {1: "INVALID_SHA256_FORMAT"}
    assert result.sent == 2
    assert emails(google_api.state["lists"][LIST]) == {ANN[0], sha("cy@example.org")}


def emails(rows):
    return {e for e, _ in rows}


def test_google_unknown_list_is_gone(google, google_api):
    with pytest.raises(AudienceError) as gone:
        push(google, [ANN], audience_id="404")
    assert gone.value.reason == audiences.GONE and "not found" in gone.value.message


def test_google_429_carries_retry_after(google, google_api):
    push(google, [ANN])
    google_api.fail_next(
        429,
        headers={"Retry-After": "12"},
        body={"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota"}},
    )
    with pytest.raises(AudienceError) as limited:
        push(google, [BOB])
    assert (limited.value.reason, limited.value.retry_after) == (audiences.RATE, 12.0)


def test_google_remove_and_request_status(google, google_api):
    added = push(google, [ANN, BOB])
    status = audience_platforms.check_request(google, request_id=added.request_id)
    assert (status.state, status.match_rate, status.record_count) == ("SUCCESS", "20–30 %", 2)
    removed = push(google, [BOB], action="remove")
    assert removed.sent == 1 and google_api.state["lists"][LIST] == {ANN}
    remove = next(r for r in google_api.requests if r.path.endswith(":remove"))
    assert "consent" not in remove.json()


def test_more_than_the_batch_limit_is_refused_before_sending(google, google_api):
    with pytest.raises(AudienceError, match="10,000"):
        push(google, [BOB] * 10_001)
    assert google_api.requests == []


def test_meta_add_sends_schema_data_and_session(meta, meta_api):
    session = {"session_id": 7, "batch_seq": 1, "last_batch_flag": True, "estimated_num_total": 2}
    result = push(meta, [ANN, BOB], audience_id=AUDIENCE, session=session)
    assert result.sent == 2
    (request,) = meta_api.requests
    assert request.method == "POST" and request.path == f"/v25.0/{AUDIENCE}/users"
    assert request.headers["authorization"] == "Bearer meta-token"
    assert json.loads(request.body) == {
        "payload": {"schema": ["EMAIL_SHA256", "PHONE_SHA256"], "data": [list(ANN), list(BOB)]},
        "session": session,
    }


def test_meta_remove_is_a_delete(meta, meta_api):
    push(meta, [ANN, BOB], audience_id=AUDIENCE)
    push(meta, [BOB], action="remove", audience_id=AUDIENCE)
    assert meta_api.requests[-1].method == "DELETE"
    assert meta_api.state["audiences"][AUDIENCE] == {ANN}


def test_meta_invalid_entries_are_rejected_rows(meta, meta_api):
    meta_api.state["invalid"].add(BOB[0])
    result = push(meta, [ANN, BOB], audience_id=AUDIENCE)
    assert (result.sent, result.rejected, result.invalid) == (1, {1: "Invalid hashed value"}, 1)


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (400, {"message": "Session has expired", "code": 190}, audiences.AUTH),
        (400, {"message": "Object does not exist", "code": 100, "error_subcode": 33}, "gone"),
        (400, {"message": "Too many calls", "code": 80003}, audiences.RATE),
        (503, {"message": "Service temporarily unavailable", "code": 2}, audiences.SERVER),
        (400, {"message": "Invalid schema", "code": 2650}, audiences.REFUSED),
    ],
)
def test_meta_error_bodies_map_to_what_the_sync_does(meta, meta_api, status, error, reason):
    meta_api.fail_next(status, body={"error": {**error, "type": "OAuthException"}})
    with pytest.raises(AudienceError) as failed:
        push(meta, [ANN], audience_id=AUDIENCE)
    assert failed.value.reason == reason
    assert error["message"] in failed.value.message


def test_a_destination_that_holds_no_audience_is_refused(db):
    hook = services.create_destination(
        name="Hook",
        kind="webhook",
        config={"url": "https://x.example/"},
        secrets={"signing_secret": "s"},
    )
    with pytest.raises(AudienceError, match="cannot hold a synced audience"):
        push(hook, [ANN])


def test_connection_test_of_google_refreshes_the_token(google, google_api):
    ok, message = services.record_test(destination=google)
    assert ok and "access token" in message
    assert oauth.access_token(google) in google_api.state["access_tokens"]
