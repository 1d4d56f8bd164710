"""Each bad input gets its clear error; nothing valid beside it is lost; the server stays up."""

import gzip
import json

import pytest

from integrations import services
from integrations.models import Event, RejectedEvent

pytestmark = pytest.mark.django_db


def message(**extra):
    return {"userId": "u1", "event": "Viewed", **extra}


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["message"]


def test_malformed_json_is_a_400_with_code_and_message(post, source):
    response = post("/v1/track", b'{"userId": "u1", "event":', key=source.write_key, raw=True)
    assert_error(response, 400, "invalid_json")
    assert RejectedEvent.objects.get(source=source).code == "invalid_json"


def test_nan_is_not_json(post, source):
    response = post(
        "/v1/track", b'{"userId": "u1", "event": "x", "v": NaN}', key=source.write_key, raw=True
    )
    assert_error(response, 400, "invalid_json")


def test_invalid_utf8_is_a_400(post, source):
    body = b'{"userId": "u1", "event": "caf\xe9"}'
    assert_error(post("/v1/track", body, key=source.write_key, raw=True), 400, "invalid_utf8")


def test_lone_surrogate_escape_is_rejected_not_a_server_error(post, source):
    body = b'{"userId": "u1", "event": "x", "properties": {"s": "\\ud800"}}'
    assert_error(post("/v1/track", body, key=source.write_key, raw=True), 400, "invalid_string")


def test_nul_character_is_rejected_not_a_server_error(post, source):
    body = b'{"userId": "u1", "event": "x", "properties": {"s": "a\\u0000b"}}'
    assert_error(post("/v1/track", body, key=source.write_key, raw=True), 400, "invalid_string")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("userId", {"id": 1}, "invalid_type"),
        ("event", 42, "missing_event"),
        ("properties", [1, 2], "invalid_type"),
        ("context", "web", "invalid_type"),
        ("timestamp", 1700000000, "invalid_type"),
        ("timestamp", "yesterday", "invalid_timestamp"),
        ("messageId", "x" * 101, "invalid_message_id"),
    ],
)
def test_wrong_types_are_refused_by_field(post, source, field, value, code):
    response = post("/v1/track", message(**{field: value}), key=source.write_key)
    assert_error(response, 400, code)
    assert RejectedEvent.objects.get().code == code


def test_a_body_that_is_not_an_object_is_refused(post, source):
    assert_error(post("/v1/track", [1, 2], key=source.write_key), 400, "invalid_body")
    assert_error(post("/v1/batch", {"batch": "x"}, key=source.write_key), 400, "invalid_batch")


def test_numeric_user_id_is_accepted_as_a_string(post, source):
    assert post("/v1/track", message(userId=42), key=source.write_key).status_code == 200
    assert Event.objects.get().user_id == "42"


def test_oversize_single_message_body_is_a_400(post, source):
    big = message(properties={"blob": "x" * 40_000})
    assert_error(post("/v1/track", big, key=source.write_key), 400, "request_too_large")


def test_oversize_batch_body_is_a_400(post, source):
    batch = {"batch": [{"type": "track", **message(properties={"b": "x" * 20_000})}] * 30}
    assert_error(post("/v1/batch", batch, key=source.write_key), 400, "request_too_large")
    assert Event.objects.count() == 0


def test_more_than_2500_messages_in_a_batch_is_a_400(post, source):
    batch = {"batch": [{"type": "track", "userId": "u", "event": "e"}] * 2501}
    assert_error(post("/v1/batch", batch, key=source.write_key), 400, "batch_too_large")


def test_one_huge_message_in_a_batch_is_rejected_and_the_rest_kept(post, source):
    batch = {
        "batch": [
            {"type": "track", **message(messageId="ok")},
            {"type": "track", **message(properties={"blob": "x" * 33_000})},
        ]
    }
    assert post("/v1/batch", batch, key=source.write_key).status_code == 200
    assert list(Event.objects.values_list("message_id", flat=True)) == ["ok"]
    rejected = RejectedEvent.objects.get()
    assert rejected.code == "message_too_large"
    assert "truncated" in rejected.payload  # the huge payload is not kept whole


def test_gzip_bomb_is_a_400_without_inflating_it(post, source):
    bomb = gzip.compress(b"[" + b" " * 200_000_000 + b"]", compresslevel=9)
    assert len(bomb) < 500_000
    response = post(
        "/v1/batch", bomb, key=source.write_key, raw=True, headers={"HTTP_CONTENT_ENCODING": "gzip"}
    )
    assert_error(response, 400, "request_too_large")


def test_corrupt_gzip_is_a_400(post, source):
    response = post(
        "/v1/batch",
        b"not gzip at all",
        key=source.write_key,
        raw=True,
        headers={"HTTP_CONTENT_ENCODING": "gzip"},
    )
    assert_error(response, 400, "invalid_gzip")


def test_unknown_write_key_is_a_401(post, db):
    assert_error(post("/v1/track", message(), key="no-such-key"), 401, "invalid_write_key")
    assert_error(post("/v1/track", message(writeKey="no-such-key")), 401, "invalid_write_key")


def test_missing_write_key_is_a_401(post, db):
    assert_error(post("/v1/track", message()), 401, "missing_write_key")


def test_disabled_source_key_is_a_401(post, source):
    services.update_source(source=source, enabled=False)
    assert_error(post("/v1/track", message(), key=source.write_key), 401, "source_disabled")
    assert Event.objects.count() == 0


def test_message_without_user_or_anonymous_id_is_refused(post, source):
    response = post("/v1/track", {"event": "Viewed"}, key=source.write_key)
    assert_error(response, 400, "no_user_anon_id")
    assert RejectedEvent.objects.get().payload == {"event": "Viewed"}


def test_alias_needs_previous_id_and_user_id(post, source):
    response = post("/v1/alias", {"userId": "u1"}, key=source.write_key)
    assert_error(response, 400, "missing_alias_ids")


def test_batch_item_without_a_known_type_is_rejected(post, source):
    batch = {"batch": [{"type": "purchase", "userId": "u"}, "not an object"]}
    assert post("/v1/batch", batch, key=source.write_key).status_code == 200
    assert sorted(RejectedEvent.objects.values_list("code", flat=True)) == [
        "invalid_message",
        "invalid_type",
    ]


def test_deeply_nested_properties_are_refused_with_a_clear_error(post, source):
    nested = {}
    for _ in range(40):
        nested = {"n": nested}
    assert_error(
        post("/v1/track", message(properties=nested), key=source.write_key), 400, "too_deep"
    )


def test_json_nested_beyond_the_parser_is_a_400_not_a_crash(post, source):
    body = '{"userId": "u", "event": "e", "properties": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = post("/v1/batch", body.encode(), key=source.write_key, raw=True)
    assert response.status_code == 400
    assert response.json()["code"] in ("too_deep", "request_too_large")


def test_too_deep_for_the_parser_within_size_limits(post, source):
    body = '{"userId": "u", "event": "e", "properties": ' + "[" * 20_000 + "]" * 20_000 + "}"
    assert_error(post("/v1/batch", body.encode(), key=source.write_key, raw=True), 400, "too_deep")


def test_server_stays_up_after_bad_input(post, source):
    post("/v1/track", b"\xff\xfe", key=source.write_key, raw=True)
    assert post("/v1/track", message(), key=source.write_key).status_code == 200
    assert json.loads(post("/v1/track", message(), key=source.write_key).content) == {
        "success": True
    }
