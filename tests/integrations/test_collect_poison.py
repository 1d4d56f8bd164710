"""A message never turns a /v1 request into a 500: values PostgreSQL cannot hold become a
per-message rejection with a reason, and the others in the batch are stored."""

import dataclasses
import json
import math
import secrets
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations import services
from integrations.collect.messages import MAX_ID_BYTES, MAX_NAME, Rejection, Row, prepare
from integrations.models import Event, RejectedEvent

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def good(i: int) -> dict:
    return {"type": "track", "userId": f"u{i}", "event": "Viewed", "messageId": f"good-{i}"}


POISON = {
    "a number literal past the largest float": (
        '{"type": "track", "userId": "u", "event": "x", "properties": {"v": 1e999}}',
        "invalid_number",
    ),
    "a timestamp and sentAt too far apart": (
        json.dumps(
            {
                "type": "track",
                "userId": "u",
                "event": "x",
                "timestamp": "0001-01-01T00:00:00Z",
                "sentAt": "9999-12-31T23:59:59Z",
            }
        ),
        "invalid_timestamp",
    ),
    "a userId of 3 kB": (
        json.dumps({"type": "track", "userId": "u" * 3000, "event": "x"}),
        "id_too_long",
    ),
    "an anonymousId of 3 kB": (
        json.dumps({"type": "page", "anonymousId": "é" * 1500}),
        "id_too_long",
    ),
    "an event name longer than profiles keep": (
        json.dumps({"type": "track", "userId": "u", "event": "x" * (MAX_NAME + 1)}),
        "name_too_long",
    ),
}


@pytest.mark.parametrize("case", POISON, ids=list(POISON))
def test_a_poison_message_in_a_batch_is_rejected_and_the_rest_stored(post, source, case):
    text, code = POISON[case]
    items = [json.dumps(good(1)), text, json.dumps(good(2))]
    body = ('{"batch": [' + ",".join(items) + "]}").encode()
    response = post("/v1/batch", body, key=source.write_key, raw=True)
    assert response.status_code == 200, response.content
    assert set(Event.objects.values_list("message_id", flat=True)) == {"good-1", "good-2"}
    assert RejectedEvent.objects.get(source=source).code == code


@pytest.mark.parametrize("case", POISON, ids=list(POISON))
def test_a_poison_message_alone_is_a_400_with_its_reason(post, source, case):
    text, code = POISON[case]
    kind = json.loads(text.replace("1e999", "0"))["type"]
    response = post(f"/v1/{kind}", text.encode(), key=source.write_key, raw=True)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert not Event.objects.exists()


def test_a_row_the_database_refuses_is_rejected_alone_and_its_neighbours_stored(source):
    rows = [prepare(good(i), type_=None, received_at=RECEIVED) for i in range(6)]
    # A row no check caught: an index entry over PostgreSQL's 2.7 kB limit (random text,
    # which compression cannot bring under it).
    rows[3] = dataclasses.replace(rows[3], user_id=secrets.token_urlsafe(6000))
    rejections: list[Rejection] = []
    stored = services.store_rows(
        source_id=source.id, rows=rows, received_at=RECEIVED, rejections=rejections
    )
    assert stored == 5
    assert [r.code for r in rejections] == ["unstorable"]
    assert rejections[0].payload["messageId"] == "good-3"
    assert Event.objects.count() == 5


# Any JSON value the body could decode to, with the numbers Python's json produces from
# literals (huge integers, and inf from 1e999) and every kind of string.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
known_keys = st.sampled_from(
    [
        "type",
        "userId",
        "anonymousId",
        "event",
        "name",
        "messageId",
        "timestamp",
        "sentAt",
        "previousId",
        "groupId",
        "context",
        "properties",
        "traits",
        "integrations",
    ]
)
messages = st.one_of(
    json_values,
    st.dictionaries(known_keys, json_values, max_size=8),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["track", "identify", "page", "alias", "group"]),
            "userId": st.text() | st.integers(),
            "event": st.text(),
        },
        optional={
            "timestamp": st.datetimes(timezones=st.timezones()).map(datetime.isoformat) | st.text(),
            "sentAt": st.datetimes().map(lambda d: d.isoformat() + "Z") | st.text(),
            "properties": st.dictionaries(st.text(), json_values, max_size=4),
        },
    ),
)


def _strict(text: str):
    def refuse(constant):
        raise ValueError(constant)

    return json.loads(text, parse_constant=refuse)


def _assert_storable(row: Row) -> None:
    payload = _strict(row.payload)  # no NaN or Infinity: jsonb would refuse them
    row.payload.encode("utf-8")  # no lone surrogates
    assert "\x00" not in row.payload.replace("\\u0000", "\x00")
    for value in (row.user_id, row.anonymous_id):
        assert value is None or len(value.encode("utf-8")) <= MAX_ID_BYTES
    assert row.event is None or len(row.event) <= MAX_NAME
    assert payload["messageId"] == row.message_id


@settings(max_examples=400, deadline=None, derandomize=True)
@given(message=messages, endpoint=st.sampled_from([None, "track", "identify", "page"]))
def test_prepare_returns_a_storable_row_or_a_rejection_for_any_json(message, endpoint):
    result = prepare(message, type_=endpoint, received_at=RECEIVED, ip="203.0.113.9")
    assert isinstance(result, Row | Rejection)
    if isinstance(result, Rejection):
        assert result.code and result.reason
    else:
        _assert_storable(result)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(batch=st.lists(messages, min_size=1, max_size=5))
def test_ingesting_any_json_stores_or_rejects_each_message_and_never_raises(source, batch):
    result = services.ingest_messages(source_id=source.id, messages=batch, received_at=RECEIVED)
    assert result.stored + result.duplicates + len(result.rejections) == len(batch)


def test_the_largest_finite_float_is_still_accepted(post, source):
    body = {"userId": "u", "event": "x", "properties": {"v": 1.7976931348623157e308}}
    assert post("/v1/track", body, key=source.write_key).status_code == 200
    stored = Event.objects.get().payload["properties"]["v"]
    assert math.isclose(stored, 1.7976931348623157e308)
