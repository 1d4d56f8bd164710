"""First and last touch on each profile: the channel that first brought a person and the
last one that brought them back, kept as events are processed, after a merge and an
unmerge, and segmentable like any computed trait."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from integrations import processing
from profiles import attribution, pipeline
from profiles.models import Profile, ProfileEvent
from profiles.services import merge_profiles, unmerge
from segments import compiler
from tests.support import segment_rules

from .conftest import message, profile_of

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example"


def visit(user: str, minutes: int, path: str = "/", *, utm: str = "", referrer: str = "", **kw):
    properties = {"url": f"{SHOP}{path}{'?' + utm if utm else ''}", "path": path}
    if referrer:
        properties["referrer"] = referrer
    return message("page", userId=user, minutes=minutes, properties=properties, **kw)


def touch(user: str) -> dict:
    computed = profile_of("user_id", user).computed
    return {k: computed[k] for k in attribution.KEYS if k in computed}


def channel(found: dict, which: str) -> tuple:
    return tuple(found.get(f"{which}_touch_{k}") for k in ("source", "medium", "campaign"))


@pytest.fixture
def manager(make_user):
    return make_user("Account manager", "am@example.org")


def test_first_touch_is_the_first_visit_and_last_the_latest_channel(web, send):
    send(
        web,
        visit("u1", 0, "/tents", utm="utm_source=google&utm_medium=cpc&utm_campaign=spring"),
        visit("u1", 60, "/", referrer="https://www.news.example/article"),
        visit("u1", 61, "/tents", referrer=f"{SHOP}/"),  # moving around the shop: no touch
        message(userId="u1", event="Product Viewed", minutes=62),  # no context at all
    )

    found = touch("u1")
    assert channel(found, "first") == ("google", "cpc", "spring")
    assert found["first_touch_landing_page"] == "/tents"
    assert channel(found, "last") == ("news.example", "referral", "(none)")
    assert found["last_touch_referrer"] == "https://www.news.example/article"
    assert found["last_touch_at"].startswith("2026-11-01T13:00:00")


def test_a_direct_first_visit_is_direct_until_a_channel_brings_them_back(web, send):
    send(web, visit("u2", 0, "/"))
    assert channel(touch("u2"), "first") == attribution.DIRECT
    assert channel(touch("u2"), "last") == attribution.DIRECT

    send(web, visit("u2", 90, "/sale", utm="utm_source=newsletter&utm_medium=email"))

    found = touch("u2")
    assert channel(found, "first") == attribution.DIRECT
    assert channel(found, "last") == ("newsletter", "email", "(none)")
    assert found["last_touch_landing_page"] == "/sale"


def test_an_earlier_visit_arriving_late_becomes_the_first_touch(web, send):
    send(web, visit("u3", 100, "/", utm="utm_source=bing&utm_medium=cpc"))
    send(web, visit("u3", 5, "/blog", referrer="https://duckduckgo.com/"))

    found = touch("u3")
    assert channel(found, "first") == ("duckduckgo.com", "referral", "(none)")
    assert channel(found, "last") == ("bing", "cpc", "(none)")


def test_processing_the_same_events_again_changes_nothing(web, send):
    send(web, visit("u4", 0, "/", utm="utm_source=google&utm_medium=cpc"))
    send(web, visit("u4", 50, "/", referrer="https://www.bing.com/"))
    before = touch("u4")
    claimed = [
        processing.ClaimedEvent(e.event_id, e.received_at, e.source_id)
        for e in ProfileEvent.objects.order_by("event_id")
    ]

    with transaction.atomic():
        pipeline.resolve_batch(processing.Batch(claimed))  # a batch processed twice

    assert touch("u4") == before
    assert attribution.refresh(profile_ids=[profile_of("user_id", "u4").pk]) == []


def test_profiles_without_context_keep_no_touch(web, send):
    send(web, message(userId="u5", event="Product Viewed"))

    assert touch("u5") == {}


def test_a_merge_keeps_the_earliest_first_touch_and_an_unmerge_gives_each_its_own(
    web, send, manager
):
    send(
        web,
        visit("early", 0, "/", utm="utm_source=facebook&utm_medium=social"),
        visit("late", 30, "/", utm="utm_source=google&utm_medium=cpc"),
    )
    early, late = profile_of("user_id", "early").pk, profile_of("user_id", "late").pk

    merge = merge_profiles(survivor_id=late, merged_id=early, actor=manager)
    merged = Profile.objects.get(pk=late).computed
    assert channel(merged, "first") == ("facebook", "social", "(none)")
    assert channel(merged, "last") == ("google", "cpc", "(none)")

    unmerge(merge_id=merge.pk, actor=manager)
    assert channel(touch("late"), "first") == ("google", "cpc", "(none)")
    assert channel(touch("early"), "first") == ("facebook", "social", "(none)")
    assert channel(touch("early"), "last") == ("facebook", "social", "(none)")


def test_touches_are_segmentable_like_any_computed_trait(web, send):
    send(
        web,
        visit("g", 0, "/", utm="utm_source=Google&utm_medium=cpc"),
        visit("d", 0, "/"),
    )
    rule = segment_rules.rule(
        {"type": "computed", "key": "first_touch_source", "op": "equals", "value": "google"}
    )

    found = set(compiler.queryset(rule).values_list("pk", flat=True))
    assert found == {profile_of("user_id", "g").pk}


def test_hostile_context_values_are_kept_as_text_not_run(web, send):
    hostile = "x'); DROP TABLE profiles_profile; --"
    send(
        web,
        message(
            "page",
            userId="h",
            context={"campaign": {"source": hostile, "medium": "<script>"}},
            properties={"path": "/"},
        ),
    )

    assert channel(touch("h"), "first") == (hostile, "<script>", "(none)")


def test_the_backfill_command_restores_touches_lost_or_never_computed(web, send):
    send(
        web,
        visit("b1", 0, "/", utm="utm_source=google&utm_medium=cpc"),
        visit("b2", 0, "/", referrer="https://duckduckgo.com/"),
    )
    expected = {user: touch(user) for user in ("b1", "b2")}
    Profile.objects.update(computed={})  # as data kept before the touches were

    out = io.StringIO()
    call_command("backfill_touches", "--chunk", "1", stdout=out)

    assert {user: touch(user) for user in ("b1", "b2")} == expected
    assert "Touches recomputed for 2 profiles (2 changed)" in out.getvalue()
    call_command("backfill_touches", stdout=out)
    assert "(0 changed)" in out.getvalue()


def test_the_segment_builder_offers_the_touch_keys(db):
    from segments import catalog

    offered = {k["key"]: (k["label"], k["type"]) for k in catalog.computed_keys()}
    assert offered["first_touch_source"] == ("First touch source", "text")
    assert offered["last_touch_landing_page"] == ("Last touch landing page", "text")
    assert offered["last_touch_at"] == ("Last touch time", "date")


def test_the_profile_page_names_the_touches(web, send, client, make_user):
    send(web, visit("p1", 0, "/", utm="utm_source=google&utm_medium=cpc"))
    client.force_login(make_user("Account manager"))

    page = client.get(f"/profiles/{profile_of('user_id', 'p1').pk}/").content.decode()
    assert "First touch source" in page and "google" in page
