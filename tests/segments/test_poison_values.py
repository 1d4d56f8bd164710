"""One value or one segment cannot stop real-time membership for the others: casts never
raise (an impossible value simply does not match), and a segment that fails is marked
failing, retried, while the cursor moves on for every other segment."""

import pytest

from segments import compiler, membership, realtime, services
from segments.models import ChangeCursor, Membership, Segment

from .conftest import message, pid, rule

pytestmark = pytest.mark.django_db


def members(segment) -> set[int]:
    return set(Membership.objects.filter(segment=segment).values_list("profile_id", flat=True))


def settled(*segments):
    for segment in segments:
        membership.recompute(segment)
    while realtime.process_changes():
        pass


BORN_BEFORE_2000 = rule({"type": "trait", "key": "birthday", "op": "before", "value": "2000-01-01"})
BIG_SPENDERS = rule({"type": "trait", "key": "ltv", "op": "gt", "value": 1000})


def test_an_impossible_date_does_not_match_and_does_not_keep_others_out(web, send):
    segment = services.create_segment(name="Born before 2000", rule=BORN_BEFORE_2000)
    settled(segment)
    send(web, message("identify", userId="odd", traits={"birthday": "1990-02-30"}))
    send(web, message("identify", userId="ok", traits={"birthday": "1990-02-28"}, minutes=1))
    realtime.process_changes()
    assert members(segment) == {pid("ok")}


@pytest.mark.parametrize(
    "day, real",
    [
        ("2024-02-29", True),
        ("2023-02-29", False),
        ("1900-02-29", False),
        ("2000-02-29", True),
        ("1999-04-31", False),
        ("1999-12-31", True),
        ("1999-13-01", False),
        ("0000-01-01", False),
    ],
)
def test_only_real_calendar_dates_are_compared(web, send, day, real):
    send(web, message("identify", userId="p", traits={"birthday": day}))
    within = rule({"type": "trait", "key": "birthday", "op": "after", "value": "0001-01-01"})
    assert compiler.queryset(within).exists() is real


def test_a_number_past_the_largest_float_is_compared_without_overflow(web, send):
    segment = services.create_segment(name="Big spenders", rule=BIG_SPENDERS)
    settled(segment)
    send(web, message("identify", userId="whale", traits={"ltv": int("9" * 400)}))
    send(web, message("identify", userId="fan", traits={"ltv": 1500}, minutes=1))
    send(web, message("identify", userId="browser", traits={"ltv": 15}, minutes=2))
    realtime.process_changes()
    assert members(segment) == {pid("whale"), pid("fan")}


def test_a_failing_segment_is_marked_and_the_others_keep_up(web, send):
    broken = services.create_segment(name="From an older version", rule=BIG_SPENDERS)
    working = services.create_segment(name="Big spenders", rule=BIG_SPENDERS)
    settled(broken, working)
    # A rule stored by an older release that the compiler no longer reads.
    Segment.objects.filter(pk=broken.pk).update(
        rule=rule({"type": "trait", "key": "ltv", "op": "greater_than", "value": 1000})
    )
    send(web, message("identify", userId="fan", traits={"ltv": 1500}))
    realtime.process_changes()
    assert members(working) == {pid("fan")}
    broken.refresh_from_db()
    assert broken.compute_error.startswith(realtime.FAILING)
    last = ChangeCursor.objects.get(name=realtime.CURSOR).last_id
    assert realtime.process_changes() == 0 and last > 0  # the cursor moved past it


def test_a_failing_segment_is_recomputed_once_its_rule_works_again(web, send):
    segment = services.create_segment(name="Big spenders", rule=BIG_SPENDERS)
    settled(segment)
    Segment.objects.filter(pk=segment.pk).update(rule={"version": 1, "root": {"type": "nope"}})
    send(web, message("identify", userId="fan", traits={"ltv": 1500}))
    realtime.process_changes()
    assert services.retry_failing_segments() == 0  # still broken: kept failing
    segment.refresh_from_db()
    assert segment.compute_error
    Segment.objects.filter(pk=segment.pk).update(rule=BIG_SPENDERS)  # fixed (a new release)
    assert services.retry_failing_segments() == 1
    segment.refresh_from_db()
    assert segment.compute_error == ""
    assert members(segment) == {pid("fan")}
