"""History a connector backfilled (``context.backfill``) puts people in segments, counted
and exported like anyone, but their entry (or exit) starts no segment journey: the flag
goes from the message to the profile's change record (ProfileChange.backfill), to the
segment change it causes (MembershipChange.backfill), which campaigns pass over."""

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.models import Campaign, Enrollment
from demo.imitations import rest as rest_api
from integrations.connectors import services as connectors
from profiles.masking import CLEAR
from profiles.models import Identity, ProfileChange
from segments import selectors as segment_selectors
from segments import services as segments
from segments.models import Membership, MembershipChange
from segments.services import process_profile_changes
from tests.campaigns.conftest import at, campaign, pump
from tests.profiles.conftest import drain, message, send, web  # noqa: F401
from tests.support.connectors import drive

pytestmark = pytest.mark.django_db

STEPS = [{"id": "w", "type": "wait", "minutes": 10}]
HISTORY = {"backfill": True}
LONG_AGO = -90 * 24 * 60  # minutes: a record last changed 90 days ago, synced today


def rule(*children) -> dict:
    return {"version": 1, "root": {"type": "group", "match": "all", "children": list(children)}}


def trait(key, value, op="equals") -> dict:
    return {"type": "trait", "key": key, "op": op, "value": value}


def gold_journey(kind=Campaign.Kind.SEGMENT_ENTERED):
    gold = segments.create_segment(name="gold", rule=rule(trait("tier", "gold")))
    return gold, campaign(STEPS, kind=kind, segment=gold)


def identify(user, minutes, *, context=None, **traits):
    fields = {"context": context} if context else {}
    return message(
        "identify", userId=user, traits=traits, timestamp=at(minutes).isoformat(), **fields
    )


def history_and_live(send, web, minutes, **traits):  # noqa: F811
    """One processing batch: ann's record from a connector's history, bob's live one."""
    send(
        web,
        identify("ann", minutes, context=HISTORY, **traits),
        identify("bob", minutes, **traits),
    )


def gold_in_paris():
    gold = segments.create_segment(name="gold", rule=rule(trait("tier", "gold")))
    within = segments.create_segment(
        name="gold in Paris",
        rule=rule({"type": "segment", "segment_id": gold.pk}, trait("city", "Paris")),
    )
    return gold, within


def settle():
    """What the workers do after processing: segments in real time, then campaigns."""
    process_profile_changes()
    pump(0)


def pid(user: str) -> int:
    return Identity.objects.get(kind__name="user_id", value=user).profile_id


def enrolled(journey) -> set[int]:
    return set(Enrollment.objects.filter(campaign=journey).values_list("profile_id", flat=True))


def members(segment) -> set[int]:
    return set(Membership.objects.filter(segment=segment).values_list("profile_id", flat=True))


def test_a_first_sync_puts_old_customers_in_a_segment_and_enrols_only_the_new(db):
    # A partner API's customers: one last changed in March (history: backfilled), one
    # changed after the connection was made (live). One sync, one processing batch.
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    api = rest_api.start(
        records=[
            {"id": "old", "email": "old@example.com", "updated_at": "2026-03-01T10:00:00Z"},
            {"id": "new", "email": "new@example.com", "updated_at": soon},
        ],
        token="t0ken",
    )
    try:
        connection = connectors.create_connection(
            name="Partner API",
            kind="rest",
            base_url=api.url,
            config={"path": "/customers", "records_path": "$.data", "auth": "bearer"},
            secrets={"token": "t0ken"},
            schedule_minutes=60,
        )
        drive(connectors.start_run(connection=connection))
    finally:
        api.stop()
    customers = segments.create_segment(
        name="partner customers", rule=rule(trait("email", "@example.com", op="contains"))
    )
    journey = campaign(STEPS, kind=Campaign.Kind.SEGMENT_ENTERED, segment=customers)
    drain()
    settle()
    assert members(customers) == {pid("old"), pid("new")}
    customers.refresh_from_db()
    assert customers.member_count == 2
    assert enrolled(journey) == {pid("new")}
    entries = dict(
        MembershipChange.objects.filter(segment=customers).values_list("profile_id", "backfill")
    )
    assert entries == {pid("old"): True, pid("new"): False}
    shown = {
        c.profile_id: c.reason for c in segment_selectors.history(segment=customers, masker=CLEAR)
    }
    assert shown[pid("old")] == f"profile changed ({segment_selectors.BACKFILL_NOTE})"
    assert shown[pid("new")] == "profile changed"


def test_backfilled_and_live_people_of_one_batch_are_each_treated_as_they_came(send, web):  # noqa: F811
    gold, journey = gold_journey()
    history_and_live(send, web, -60, tier="gold")
    flags = dict(ProfileChange.objects.values_list("profile_id", "backfill"))
    assert flags == {pid("ann"): True, pid("bob"): False}
    settle()
    assert members(gold) == {pid("ann"), pid("bob")}
    assert enrolled(journey) == {pid("bob")}


def test_a_person_with_backfilled_and_live_messages_in_one_batch_enters_live(send, web):  # noqa: F811
    gold, journey = gold_journey()
    send(
        web,
        identify("ann", LONG_AGO, context=HISTORY, tier="gold"),
        identify("ann", 0, firstName="Ann"),
    )
    assert list(ProfileChange.objects.values_list("backfill", flat=True)) == [False]
    settle()
    assert enrolled(journey) == {pid("ann")}


def test_staying_in_on_live_data_starts_nothing_but_coming_back_does(send, web):  # noqa: F811
    gold, journey = gold_journey()
    send(web, identify("ann", LONG_AGO, context=HISTORY, tier="gold"))
    settle()
    assert members(gold) == {pid("ann")} and not enrolled(journey)
    send(web, identify("ann", -2, tier="gold", firstName="Ann"))  # live, still gold
    settle()
    assert not enrolled(journey)
    send(web, identify("ann", -1, tier="silver"))
    settle()
    assert not members(gold) and not enrolled(journey)
    send(web, identify("ann", 0, tier="gold"))  # back, on live data
    settle()
    assert enrolled(journey) == {pid("ann")}


def test_an_exit_caused_by_history_starts_no_exit_journey(send, web):  # noqa: F811
    gold, left = gold_journey(kind=Campaign.Kind.SEGMENT_EXITED)
    send(web, identify("ann", -60, tier="gold"), identify("bob", -60, tier="gold"))
    settle()
    # A connector's record newer than what the site said: both are silver now.
    history_and_live(send, web, -30, tier="silver")
    settle()
    assert not members(gold)
    assert enrolled(left) == {pid("bob")}


def test_a_segment_of_a_segment_follows_the_entry_it_refers_to(send, web):  # noqa: F811
    gold, within = gold_in_paris()
    journey = campaign(STEPS, kind=Campaign.Kind.SEGMENT_ENTERED, segment=within)
    history_and_live(send, web, -60, tier="gold", city="Paris")
    settle()
    assert members(within) == {pid("ann"), pid("bob")}
    assert enrolled(journey) == {pid("bob")}


def test_a_full_recompute_before_the_real_time_pass_marks_backfilled_entries(send, web):  # noqa: F811
    # A first sync's backlog: the scheduled pass (or an edited segment) reaches people
    # before the real-time pass has read their change records.
    gold, within = gold_in_paris()
    journeys = [
        campaign(STEPS, kind=Campaign.Kind.SEGMENT_ENTERED, segment=s) for s in (gold, within)
    ]
    history_and_live(send, web, -60, tier="gold", city="Paris")
    segments.recompute_segment(segment_id=gold.pk)
    settle()
    assert members(gold) == members(within) == {pid("ann"), pid("bob")}
    assert [enrolled(j) for j in journeys] == [{pid("bob")}, {pid("bob")}]
