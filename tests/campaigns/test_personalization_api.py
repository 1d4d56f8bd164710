"""GET /v1/personalize: what a source may show a visitor, read from the cache that the
change-record reader keeps (campaigns/personalization/). Real PostgreSQL and Redis; the
people come through the real collection and processing pipeline."""

import base64
import json
import uuid

import pytest

from campaigns.personalization import cache, settings
from integrations import services
from integrations.collect.verification import signature
from segments import realtime
from segments import services as segment_services
from segments.models import Segment
from tests.profiles.conftest import message
from tests.support.segment_rules import rule

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example"
EMPTY = {"segments": [], "traits": {}, "stage": None}


@pytest.fixture
def vip(db):
    return Segment.objects.create(name="VIP", kind=Segment.Kind.STATIC, on_site=True)


@pytest.fixture
def internal(db):
    return Segment.objects.create(
        name="Churn risk (internal)", kind=Segment.Kind.STATIC, on_site=True
    )


def visitor(send, site, *, consent=True, user_id=None, **traits):
    """A visitor with an anonymous id who said yes (or no) to personalisation."""
    anonymous_id = f"anon-{uuid.uuid4().hex}"
    fields = {"anonymousId": anonymous_id, "traits": {"plan": "gold", "city": "Utrecht", **traits}}
    if user_id:
        fields["userId"] = user_id
    fields["context"] = {"consent": {"categoryPreferences": {"personalisation": consent}}}
    send(site, message("identify", **fields))
    return anonymous_id


def profile_id_of(anonymous_id):
    from profiles.models import Identity

    return Identity.objects.get(kind__name="anonymous_id", value=anonymous_id).profile_id


def publish(site, *, segments=(), traits=("plan",), stage=True, origins=(SHOP,)):
    settings.save_settings(
        source=site,
        segment_ids=[s.pk for s in segments],
        traits=traits,
        stage=stage,
        origins=origins,
    )
    cache.rebuild()


def ask(client, site, origin=SHOP, **params):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.get("/v1/personalize", {"writeKey": site.write_key, **params}, **headers)


def answer(client, site, **params):
    response = ask(client, site, **params)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def test_consenting_visitor_sees_only_what_the_source_made_public(client, send, web, vip, internal):
    anonymous_id = visitor(send, web)
    pid = profile_id_of(anonymous_id)
    vip.memberships.create(profile_id=pid, entered_at="2026-01-01T00:00:00Z")
    internal.memberships.create(profile_id=pid, entered_at="2026-01-01T00:00:00Z")
    publish(web, segments=[vip], traits=["plan"])

    got = answer(client, web, anonymousId=anonymous_id)

    assert got["segments"] == [{"id": vip.pk, "name": "VIP"}]
    assert got["traits"] == {"plan": "gold"}  # not the city, nor the e-mail
    assert set(got) == set(EMPTY)


def test_refused_consent_gets_the_empty_answer(client, send, web, vip):
    anonymous_id = visitor(send, web, consent=False)
    vip.memberships.create(profile_id=profile_id_of(anonymous_id), entered_at="2026-01-01T00:00Z")
    publish(web, segments=[vip])

    assert answer(client, web, anonymousId=anonymous_id) == EMPTY


def test_unknown_id_gets_the_same_bytes_as_a_person_with_nothing_public(client, send, web):
    anonymous_id = visitor(send, web)
    publish(web, traits=["favouriteColour"], stage=False)

    known = ask(client, web, anonymousId=anonymous_id)
    unknown = ask(client, web, anonymousId="anon-nobody")

    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert json.loads(unknown.content) == EMPTY
    assert dict(known.headers) == dict(unknown.headers)


def test_unverified_user_id_reveals_nothing(client, send, web):
    visitor(send, web, user_id="u-42")
    publish(web)
    secret = services.verification_secret(source=web)

    unsigned = answer(client, web, userId="u-42")
    forged = answer(client, web, userId="u-42", signature="00" * 32)
    proven = answer(client, web, userId="u-42", signature=signature(secret, user_id="u-42"))

    assert unsigned == forged == EMPTY
    assert proven["traits"] == {"plan": "gold"}


def test_membership_change_reaches_the_answer_in_one_reader_pass(client, send, web):
    platinum = segment_services.create_segment(
        name="Platinum",
        rule=rule({"type": "trait", "key": "plan", "op": "equals", "value": "platinum"}),
        on_site=True,
    )
    anonymous_id = visitor(send, web)
    publish(web, segments=[platinum])
    assert answer(client, web, anonymousId=anonymous_id)["segments"] == []

    send(web, message("identify", anonymousId=anonymous_id, traits={"plan": "platinum"}))
    realtime.process_changes()  # the segment follows the trait (a membership change)
    cache.read_all()

    assert answer(client, web, anonymousId=anonymous_id)["segments"] == [
        {"id": platinum.pk, "name": "Platinum"}
    ]


def test_withdrawn_consent_empties_the_answer_in_one_reader_pass(client, send, web):
    anonymous_id = visitor(send, web)
    publish(web)
    cache.read_all()
    assert answer(client, web, anonymousId=anonymous_id)["traits"] == {"plan": "gold"}

    consent = {"consent": {"categoryPreferences": {"personalisation": False}}}
    send(web, message("page", anonymousId=anonymous_id, context=consent))
    cache.read_all()

    assert answer(client, web, anonymousId=anonymous_id) == EMPTY


def test_unflagging_a_segment_removes_it_from_answers(client, send, web, vip):
    anonymous_id = visitor(send, web)
    vip.memberships.create(profile_id=profile_id_of(anonymous_id), entered_at="2026-01-01T00:00Z")
    publish(web, segments=[vip])

    segment_services.update_segment(segment=vip, name="VIP", rule={}, on_site=False)
    cache.rebuild()

    assert answer(client, web, anonymousId=anonymous_id)["segments"] == []


def test_allowed_origin_is_echoed_and_preflight_answered(client, web):
    publish(web)

    got = ask(client, web, anonymousId="anon-x")
    preflight = client.options(
        f"/v1/personalize?writeKey={web.write_key}",
        HTTP_ORIGIN=SHOP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )

    assert got["Access-Control-Allow-Origin"] == SHOP
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SHOP
    assert "GET" in preflight["Access-Control-Allow-Methods"]


def test_other_origin_is_refused_without_cors_headers_or_answer(client, send, web):
    anonymous_id = visitor(send, web)
    publish(web)

    got = ask(client, web, origin="https://evil.example", anonymousId=anonymous_id)
    preflight = client.options(
        f"/v1/personalize?writeKey={web.write_key}", HTTP_ORIGIN="https://evil.example"
    )

    assert got.status_code == 403
    assert json.loads(got.content)["code"] == "origin_not_allowed"
    assert "gold" not in got.content.decode()
    assert "Access-Control-Allow-Origin" not in got
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight


def test_app_without_origin_uses_basic_auth(client, send, web):
    anonymous_id = visitor(send, web)
    publish(web, origins=())
    auth = base64.b64encode(f"{web.write_key}:".encode()).decode()

    got = client.get(
        "/v1/personalize", {"anonymousId": anonymous_id}, HTTP_AUTHORIZATION=f"Basic {auth}"
    )

    assert json.loads(got.content)["traits"] == {"plan": "gold"}


def test_bad_key_is_401_with_a_clear_error(client, web):
    got = client.get("/v1/personalize", {"writeKey": "nope", "anonymousId": "a"})
    missing = client.get("/v1/personalize", {"anonymousId": "a"})

    assert got.status_code == missing.status_code == 401
    assert json.loads(got.content) == {"code": "invalid_write_key", "message": "Unknown write key."}
    assert json.loads(missing.content)["code"] == "missing_write_key"


def test_missing_id_and_wrong_method_are_clear_errors(client, web):
    publish(web)
    no_id = ask(client, web)
    post = client.post(f"/v1/personalize?writeKey={web.write_key}")

    assert no_id.status_code == 400
    assert json.loads(no_id.content)["code"] == "missing_id"
    assert post.status_code == 405


def test_settings_refuse_unflagged_segments_and_bad_origins(web):
    plain = Segment.objects.create(name="Plain", rule={})

    with pytest.raises(settings.PersonalizationError) as refused:
        settings.save_settings(
            source=web,
            segment_ids=[plain.pk],
            traits=["ok", "bad name"],
            stage=False,
            origins=["shop.example", "https://shop.example/path"],
        )

    fields = sorted(e["field"] for e in refused.value.errors)
    assert fields == ["origins", "origins", "segments", "traits"]


def test_erasure_drops_the_persons_cached_answers(
    client, send, web, django_capture_on_commit_callbacks
):
    from cdp_site.personal_data import Subject, erase_subject

    anonymous_id = visitor(send, web)
    publish(web)
    assert answer(client, web, anonymousId=anonymous_id)["traits"] == {"plan": "gold"}

    with django_capture_on_commit_callbacks(execute=True):
        erase_subject(Subject(profile_ids=(profile_id_of(anonymous_id),)))

    assert answer(client, web, anonymousId=anonymous_id) == EMPTY


def test_merged_visitors_ids_both_answer_for_the_survivor(client, send, web):
    first = visitor(send, web, user_id="u-7")
    publish(web)
    second = f"anon-{uuid.uuid4().hex}"  # the same person on another device, unknown yet
    send(web, message("page", anonymousId=second))
    assert profile_id_of(second) != profile_id_of(first)
    cache.read_all()
    assert answer(client, web, anonymousId=second) == EMPTY

    send(web, message("identify", anonymousId=second, userId="u-7"))  # logs in: merged
    cache.read_all()

    assert profile_id_of(first) == profile_id_of(second)
    assert answer(client, web, anonymousId=first)["traits"] == {"plan": "gold"}
    assert answer(client, web, anonymousId=second)["traits"] == {"plan": "gold"}
