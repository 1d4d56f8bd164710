"""The Segment-compatible tracking API: what SDKs send, and what comes out in the events table."""

from datetime import UTC, datetime, timedelta

import pytest

from integrations import services
from integrations.models import Event, EventInbox, RejectedEvent

pytestmark = pytest.mark.django_db


def track(**extra):
    return {"userId": "u1", "event": "Order Completed", "properties": {"total": 12.5}, **extra}


def test_track_with_basic_auth_answers_exactly_200_success_and_stores_the_event(post, source):
    response = post("/v1/track", track(messageId="m-1"), key=source.write_key)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    event = Event.objects.get()
    assert (event.source_id, event.type, event.event, event.user_id, event.message_id) == (
        source.id,
        "track",
        "Order Completed",
        "u1",
        "m-1",
    )
    assert event.payload["properties"] == {"total": 12.5}
    assert event.payload["receivedAt"]
    assert EventInbox.objects.filter(event_id=event.id).exists()


def test_write_key_in_the_body_is_accepted_and_not_stored(post, source):
    response = post("/v1/identify", {"writeKey": source.write_key, "anonymousId": "a1"})
    assert response.status_code == 200
    event = Event.objects.get()
    assert event.type == "identify"
    assert "writeKey" not in event.payload


@pytest.mark.parametrize(
    ("path", "message", "kind"),
    [
        ("/v1/page", {"anonymousId": "a", "name": "Home"}, "page"),
        ("/v1/screen", {"userId": "u", "name": "Basket"}, "screen"),
        ("/v1/group", {"userId": "u", "groupId": "g1"}, "group"),
        ("/v1/alias", {"userId": "u", "previousId": "a"}, "alias"),
    ],
)
def test_every_single_message_endpoint_stores_its_type(post, source, path, message, kind):
    assert post(path, message, key=source.write_key).status_code == 200
    assert Event.objects.get().type == kind


@pytest.mark.parametrize(
    ("path", "message", "kind"),
    [
        ("/v1/i", {"userId": "u", "traits": {"plan": "gold"}}, "identify"),
        ("/v1/t", {"userId": "u", "event": "Order Completed"}, "track"),
        ("/v1/p", {"anonymousId": "a", "name": "Home"}, "page"),
        ("/v1/s", {"userId": "u", "name": "Basket"}, "screen"),
        ("/v1/g", {"userId": "u", "groupId": "g1"}, "group"),
        ("/v1/a", {"userId": "u", "previousId": "a"}, "alias"),
    ],
)
def test_analytics_next_short_paths_store_their_type(post, source, path, message, kind):
    # Segment's analytics.js 2.0 posts text/plain with the write key in the body.
    body = {"writeKey": source.write_key, "type": kind, **message}
    response = post(path, body, headers={"CONTENT_TYPE": "text/plain"})
    assert (response.status_code, response.json()) == (200, {"success": True})
    assert Event.objects.get().type == kind


def test_mobile_libraries_batch_path_is_an_alias_of_batch(post, source):
    body = {"batch": [{"type": "track", **track()}, {"type": "screen", "userId": "u1"}]}
    assert post("/v1/b", body, key=source.write_key).status_code == 200
    assert sorted(Event.objects.values_list("type", flat=True)) == ["screen", "track"]


def test_missing_message_id_gets_one_assigned(post, source):
    post("/v1/track", track(), key=source.write_key)
    event = Event.objects.get()
    assert len(event.message_id) == 36
    assert event.payload["messageId"] == event.message_id


def test_retried_message_id_is_stored_once(post, source):
    for _ in range(3):
        assert post("/v1/track", track(messageId="same"), key=source.write_key).status_code == 200
    batch = {"batch": [{"type": "track", **track(messageId="same")}] * 2}
    assert post("/v1/batch", batch, key=source.write_key).status_code == 200
    assert Event.objects.count() == 1
    assert EventInbox.objects.count() == 1


def test_same_message_id_from_two_sources_is_two_events(post, source):
    other = services.create_source(name="App", kind="mobile_app")
    post("/v1/track", track(messageId="m"), key=source.write_key)
    post("/v1/track", track(messageId="m"), key=other.write_key)
    assert Event.objects.count() == 2


def test_batch_context_and_integrations_merge_into_each_item(post, source):
    body = {
        "batch": [
            {"type": "track", **track(), "context": {"locale": "nl-NL"}},
            {"type": "identify", "userId": "u2", "integrations": {"Mailchimp": False}},
        ],
        "context": {"library": {"name": "analytics-python"}, "locale": "en-US"},
        "integrations": {"All": True},
    }
    assert post("/v1/batch", body, key=source.write_key).status_code == 200
    first, second = Event.objects.order_by("id")
    assert first.payload["context"]["library"] == {"name": "analytics-python"}
    assert first.payload["context"]["locale"] == "nl-NL"
    assert second.payload["integrations"] == {"All": True, "Mailchimp": False}
    assert second.payload["context"]["locale"] == "en-US"


def test_import_is_an_alias_of_batch(post, source):
    body = {"batch": [{"type": "track", **track()}]}
    assert post("/v1/import", body, key=source.write_key).status_code == 200
    assert Event.objects.count() == 1


def test_clock_skew_is_removed_from_the_event_time(post, source):
    # The device clock runs one hour ahead: it says it sent now+1h an event from now+1h-5min.
    device_now = datetime.now(UTC) + timedelta(hours=1)
    message = track(
        timestamp=(device_now - timedelta(minutes=5)).isoformat(), sentAt=device_now.isoformat()
    )
    post("/v1/track", message, key=source.write_key)
    event = Event.objects.get()
    assert event.sent_at == device_now
    assert event.original_timestamp == device_now - timedelta(minutes=5)
    assert event.timestamp == event.received_at - timedelta(minutes=5)
    assert event.payload["originalTimestamp"]


def test_without_sent_at_the_timestamp_is_taken_as_given(post, source):
    post("/v1/track", track(timestamp="2024-03-01T10:00:00Z"), key=source.write_key)
    assert Event.objects.get().timestamp == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_request_ip_is_recorded_and_direct_overrides_the_given_ip(post, source):
    post("/v1/track", track(messageId="a"), key=source.write_key)
    post("/v1/track", track(messageId="b", context={"ip": "203.0.113.9"}), key=source.write_key)
    post(
        "/v1/track",
        track(messageId="c", context={"ip": "203.0.113.9", "direct": True}),
        key=source.write_key,
    )
    ips = {e.message_id: e.payload["context"]["ip"] for e in Event.objects.all()}
    assert ips == {"a": "127.0.0.1", "b": "203.0.113.9", "c": "127.0.0.1"}


def test_behind_one_proxy_the_recorded_ip_is_the_right_most_forwarded_entry(post, source, settings):
    settings.CDP_TRUSTED_PROXY_COUNT = 1
    forged = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7"}
    post("/v1/track", track(messageId="a"), key=source.write_key, headers=forged)
    assert Event.objects.get().payload["context"]["ip"] == "198.51.100.7"


def test_cors_preflight_allows_the_browser_to_post(client):
    response = client.options(
        "/v1/batch",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]


def test_cors_headers_are_on_answers_too(post, source):
    response = post(
        "/v1/track", track(), key=source.write_key, headers={"HTTP_ORIGIN": "https://a.example"}
    )
    assert response["Access-Control-Allow-Origin"] == "https://a.example"
    assert response["Access-Control-Expose-Headers"] == "Retry-After"


def test_batch_with_one_bad_event_keeps_the_good_ones(post, source):
    body = {
        "batch": [
            {"type": "track", **track(messageId="good-1")},
            {"type": "track", "userId": "u1"},  # no event name
            {"type": "identify", "userId": "u3", "messageId": "good-2"},
        ]
    }
    response = post("/v1/batch", body, key=source.write_key)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert set(Event.objects.values_list("message_id", flat=True)) == {"good-1", "good-2"}
    rejected = RejectedEvent.objects.get()
    assert rejected.source == source
    assert rejected.code == "missing_event"
    assert rejected.payload == {"type": "track", "userId": "u1"}


def test_get_is_refused_with_405(client):
    assert client.get("/v1/track").status_code == 405
