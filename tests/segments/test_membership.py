"""Compiled rules, materialised membership and the real-time evaluator."""

from datetime import timedelta

import pytest

from segments import compiler, membership, realtime, services
from segments.models import Membership, MembershipChange, Segment

from .conftest import EXAMPLE, NOW, message, pid, recent, rule

pytestmark = pytest.mark.django_db


def matching(the_rule, now=NOW):
    return set(compiler.queryset(the_rule, now=now).values_list("pk", flat=True))


def test_the_example_segment_compiles_to_the_right_people(shoppers):
    assert matching(EXAMPLE) == {pid("nl-3")}


CONDITIONS = [
    ({"type": "trait", "key": "country", "op": "in", "values": ["be", "xx"]}, {"be-3"}),
    ({"type": "trait", "key": "country", "op": "not_equals", "value": "NL"}, {"be-3"}),
    (
        {"type": "trait", "key": "age", "op": "between", "values": [39, 41]},
        {"nl-3", "nl-1", "nl-order", "be-3"},
    ),
    ({"type": "trait", "key": "country", "op": "gt", "value": 3}, set()),
    (
        {"type": "event", "name": "Product Viewed", "count": {"op": "at_most", "value": 1}},
        {"nl-1"},
    ),
    (
        {
            "type": "event",
            "name": "Product Viewed",
            "count": {"op": "exactly", "value": 3},
            "where": [{"property": "price", "op": "lt", "value": 200}],
        },
        {"nl-3", "nl-order", "be-3"},
    ),
    (
        {
            "type": "sequence",
            "first": {"name": "Product Viewed"},
            "then": {"name": "Order Completed"},
            "within_days": 1,
        },
        {"nl-order"},
    ),
    (
        {
            "type": "event",
            "name": "Order Completed",
            "window": {"from": f"{NOW - timedelta(days=2):%Y-%m-%d}", "to": f"{NOW:%Y-%m-%d}"},
        },
        {"nl-order"},
    ),
    (
        {
            "type": "event",
            "name": "Product Viewed",
            "window": {"from": "2020-01-01", "to": "2020-12-31"},
        },
        set(),
    ),
    ({"type": "computed", "key": "nothing", "op": "is_set"}, set()),
    ({"type": "identifier", "kind": "user_id"}, {"nl-3", "nl-1", "nl-order", "be-3"}),
    ({"type": "party", "party": "second"}, set()),
]


@pytest.mark.parametrize("condition, users", CONDITIONS)
def test_conditions_select_the_right_profiles(shoppers, condition, users):
    assert matching(rule(condition)) == {pid(u) for u in users}


@pytest.mark.parametrize("the_rule", [EXAMPLE, *(rule(c) for c, _ in CONDITIONS)])
def test_a_rule_compiled_for_some_profiles_matches_those_the_whole_rule_matches(shoppers, the_rule):
    # The real-time path compiles for the people who changed, with their ids pushed into
    # every subquery: the answer must be the full answer cut to those people.
    everyone = matching(the_rule)
    for users in (["nl-3"], ["nl-3", "be-3", "nl-1"], ["nl-order", "nl-1"]):
        ids = [pid(u) for u in users]
        scoped = compiler.queryset(the_rule, now=NOW, profile_ids=ids)
        assert set(scoped.values_list("pk", flat=True)) == everyone & set(ids), users


def test_a_full_recompute_records_who_entered_and_who_left(shoppers):
    segment = services.create_segment(name="NL browsers", rule=EXAMPLE)
    membership.recompute(segment)
    segment.refresh_from_db()
    assert segment.member_count == 1 and segment.compute_ms is not None
    assert set(Membership.objects.values_list("profile_id", flat=True)) == {pid("nl-3")}
    entered = MembershipChange.objects.get()
    assert (entered.profile_id, entered.change) == (pid("nl-3"), "entered")


def test_a_change_signal_re_evaluates_only_that_profile(shoppers, web, send):
    segment = services.create_segment(name="NL browsers", rule=EXAMPLE)
    membership.recompute(segment)
    realtime.process_changes()  # the changes so far are already reflected
    send(web, message(userId="nl-1", event="Product Viewed", timestamp=recent(30)))
    send(web, message(userId="nl-1", event="Product Viewed", timestamp=recent(31)))
    send(web, message(userId="nl-3", event="Order Completed", timestamp=recent(32)))
    assert realtime.process_changes() > 0
    members = set(Membership.objects.values_list("profile_id", flat=True))
    assert members == {pid("nl-1")}
    history = list(MembershipChange.objects.order_by("id").values_list("profile_id", "change"))
    assert history[-2:] == [(pid("nl-1"), "entered"), (pid("nl-3"), "exited")] or history[-2:] == [
        (pid("nl-3"), "exited"),
        (pid("nl-1"), "entered"),
    ]


def test_a_segment_of_a_segment_follows_it_in_the_same_pass(shoppers, web, send):
    base = services.create_segment(
        name="Dutch", rule=rule({"type": "trait", "key": "country", "op": "equals", "value": "NL"})
    )
    buyers = services.create_segment(
        name="Dutch buyers",
        rule=rule(
            {"type": "segment", "segment_id": base.pk}, {"type": "event", "name": "Order Completed"}
        ),
    )
    membership.recompute(base)
    membership.recompute(buyers)
    realtime.process_changes()
    send(
        web, message("identify", userId="nl-order", traits={"country": "DE"}, timestamp=recent(60))
    )
    realtime.process_changes()
    assert not Membership.objects.filter(segment=buyers).exists()


def test_a_rule_referring_to_itself_through_another_is_refused(db):
    a = services.create_segment(name="A", rule=rule({"type": "stage", "in": ["retention"]}))
    b = services.create_segment(name="B", rule=rule({"type": "segment", "segment_id": a.pk}))
    with pytest.raises(services.SegmentError, match="contain itself"):
        services.update_segment(
            segment=a, name="A", rule=rule({"type": "segment", "segment_id": b.pk})
        )


def test_a_sliding_window_lets_people_leave_as_time_passes(shoppers):
    later = NOW + timedelta(days=30)
    assert matching(EXAMPLE, now=later) == set()


def test_a_full_recompute_carries_over_to_segments_that_refer_to_it(shoppers):
    dutch = services.create_segment(
        name="Dutch", rule=rule({"type": "trait", "key": "country", "op": "equals", "value": "NL"})
    )
    not_dutch = services.create_segment(
        name="Not Dutch", rule=rule({"type": "segment", "segment_id": dutch.pk, "member": False})
    )
    membership.recompute(not_dutch)  # before Dutch has members: everyone
    assert Membership.objects.filter(segment=not_dutch).count() == 4
    services.recompute_segment(segment_id=dutch.pk)
    members = set(Membership.objects.filter(segment=not_dutch).values_list("profile_id", flat=True))
    assert members == {pid("be-3")}


def test_an_uploaded_list_member_merged_away_is_replaced_by_the_survivor(web, crm, send):
    send(web, message("identify", userId="w1", traits={"email": "bo@example.org"}))
    send(crm, message("identify", userId="CRM-1"))
    listed = Segment.objects.create(name="VIP list", kind=Segment.Kind.STATIC)
    crm_profile = pid("CRM-1", kind="crm_id")
    Membership.objects.create(segment=listed, profile_id=crm_profile, entered_at=NOW)
    realtime.process_changes()
    send(crm, message("identify", userId="CRM-1", traits={"email": "bo@example.org"}, minutes=5))
    realtime.process_changes()
    survivor = pid("w1")
    assert survivor != crm_profile
    assert list(Membership.objects.filter(segment=listed).values_list("profile_id", flat=True)) == [
        survivor
    ]
    changes = set(
        MembershipChange.objects.filter(segment=listed).values_list("profile_id", "change")
    )
    assert changes == {(crm_profile, "exited"), (survivor, "entered")}
