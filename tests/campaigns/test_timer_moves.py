"""Timers that only pass a wait on to another wait (or to the end) are moved in one
statement (campaigns/runner.py, move_waits). They must end exactly where the engine,
one enrollment at a time, puts them: same state, step, wake time, context and log."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import protection, runner, services
from campaigns.models import ActivationSettings, Campaign, Enrollment, StepLog
from tests.campaigns.conftest import at
from tests.support.threads import in_background, side_by_side

STEPS = [
    {"id": "w1", "type": "wait", "minutes": 60, "next": "w2"},
    {"id": "w2", "type": "wait", "minutes": 540, "next": "w3"},
    {"id": "w3", "type": "wait", "minutes": 30},
]
PEOPLE = range(1001, 1006)


def journey(name):
    made = services.create_campaign(
        name=name, kind=Campaign.Kind.EVENT, trigger_event="Never", steps=STEPS
    )
    services.start_campaign(campaign=made)
    for profile_id in PEOPLE:
        services.enroll(campaign=made, profile_id=profile_id, context={"cart": [1, 2]}, now=at(0))
    return made


def state(campaign):
    rows = (
        Enrollment.objects.filter(campaign=campaign)
        .order_by("profile_id")
        .values_list(
            "profile_id",
            "state",
            "step_id",
            "wake_at",
            "finished_at",
            "exit_reason",
            "waiting_for",
            "context",
        )
    )
    logs = StepLog.objects.filter(campaign=campaign).order_by("profile_id", "at", "id")
    return list(rows), list(logs.values_list("profile_id", "step_id", "outcome", "at"))


def alone(campaign, others):
    """Only ``campaign`` runs (the runner takes active campaigns only)."""
    for other in others:
        Campaign.objects.filter(pk=other.pk).update(status=Campaign.Status.PAUSED)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE)


@pytest.mark.django_db
def test_waits_moved_in_bulk_end_exactly_where_the_engine_puts_them_one_by_one():
    ActivationSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Berlin"})
    one_by_one, bulk = journey("engine"), journey("bulk")
    wakes = []
    for step in range(4):  # enter w1; w1 → w2; w2 → w3; w3 → the end
        now = at(0) if step == 0 else wakes[-1] + timedelta(seconds=1)
        alone(one_by_one, [bulk])
        assert len(runner.run_due(now=now, limit=100)) == len(PEOPLE)
        alone(bulk, [one_by_one])
        assert runner.move_waits(now=now) == (0 if step == 0 else len(PEOPLE)), step
        if step == 0:
            runner.run_due(now=now, limit=100)  # entering w1 is the engine's
        engine_rows, engine_logs = state(one_by_one)
        bulk_rows, bulk_logs = state(bulk)
        assert [row[1:] for row in engine_rows] == [row[1:] for row in bulk_rows], step
        assert engine_logs == bulk_logs, step
        wakes.append(bulk_rows[0][3])
    assert {row[1:4] for row in bulk_rows} == {("completed", "w3", None)}
    assert wakes[1] == wakes[0] + timedelta(seconds=1, minutes=540)
    assert len(bulk_logs) == 6 * len(PEOPLE)


@pytest.mark.django_db
def test_a_wait_until_a_time_of_day_is_left_to_the_engine():
    """Nine o'clock is another instant in each person's time zone (protection.recipient_zone):
    no single wake time fits everyone, so no bulk move goes into or out of such a wait."""
    ActivationSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Berlin"})
    steps = [STEPS[0], {"id": "w2", "type": "wait", "until": "09:00", "next": "w3"}, STEPS[2]]
    made = services.create_campaign(
        name="nine", kind=Campaign.Kind.EVENT, trigger_event="Never", steps=steps
    )
    services.start_campaign(campaign=made)
    for profile_id in PEOPLE:
        services.enroll(campaign=made, profile_id=profile_id, now=at(0))
    runner.run_due(now=at(0), limit=100)
    assert runner.move_waits(now=at(61)) == 0
    assert len(runner.run_due(now=at(61), limit=100)) == len(PEOPLE)
    wake = Enrollment.objects.filter(campaign=made).values_list("step_id", "wake_at")
    zone = protection.zone(ActivationSettings.load())
    assert {(step, w.astimezone(zone).hour) for step, w in wake} == {("w2", 9)}


@pytest.mark.django_db(transaction=True)
def test_two_movers_side_by_side_move_each_enrollment_once():
    made = services.create_campaign(
        name="many",
        kind=Campaign.Kind.EVENT,
        trigger_event="N",
        steps=STEPS[:1] + [{"id": "w2", "type": "wait", "minutes": 5}],
    )
    services.start_campaign(campaign=made)
    Enrollment.objects.bulk_create(
        Enrollment(
            campaign=made,
            profile_id=i,
            step_id="w1",
            wake_at=at(0),
            entered_at=at(0),
            context={"_waiting": {"step": "w1", "since": at(-60).isoformat(), "why": "wait"}},
        )
        for i in range(600)
    )
    moved = {0: 0, 1: 0}

    def work(n):
        while count := runner.move_waits(now=at(1), limit=50):
            moved[n] += count
            # A breath between batches: on a busy machine the first thread would
            # otherwise take every batch before the second has even connected.
            time.sleep(0.02)

    side_by_side(work)
    assert moved[0] and moved[1], "both movers took a share"
    assert moved[0] + moved[1] == 600
    assert set(Enrollment.objects.values_list("step_id", "wake_at")) == {
        ("w2", at(1) + timedelta(minutes=5))
    }
    assert StepLog.objects.filter(step_id="w1", outcome="passed").count() == 600
    assert StepLog.objects.filter(step_id="w2", outcome="waiting").count() == 600


def waiting_at_w1(campaign, people, wake_at):
    Enrollment.objects.bulk_create(
        Enrollment(
            campaign=campaign,
            profile_id=i,
            step_id="w1",
            wake_at=wake_at,
            entered_at=wake_at - timedelta(hours=1),
            context={"_waiting": {"step": "w1", "since": "-", "why": "wait"}},
        )
        for i in people
    )


def two_waits(name):
    made = services.create_campaign(
        name=name,
        kind=Campaign.Kind.EVENT,
        trigger_event="N",
        steps=STEPS[:1] + [{"id": "w2", "type": "wait", "minutes": 5}],
    )
    return services.start_campaign(campaign=made)


def staged_in_background(due_at):
    result = {}

    def work():
        result["moved"] = runner.stage_waits(due_at=due_at)
        result["returned"] = timezone.now()

    return in_background(work), result


@pytest.mark.django_db(transaction=True)
def test_timers_due_at_one_instant_are_moved_ahead_and_appear_at_that_instant():
    made = two_waits("instant")
    due_at = timezone.now() + timedelta(seconds=3)
    waiting_at_w1(made, range(300), due_at)
    waiting_at_w1(made, range(300, 310), due_at + timedelta(seconds=1))  # another instant
    thread, result = staged_in_background(due_at)
    time.sleep(1.5)
    assert timezone.now() < due_at
    assert Enrollment.objects.filter(step_id="w2").count() == 0, "nothing visible before"
    thread.join(30)
    assert result["moved"] == 300 and result["returned"] >= due_at
    moved = Enrollment.objects.filter(step_id="w2")
    assert set(moved.values_list("wake_at", flat=True)) == {due_at + timedelta(minutes=5)}
    assert set(StepLog.objects.filter(step_id="w1").values_list("outcome", "at")) == {
        ("passed", due_at)
    }
    assert Enrollment.objects.filter(step_id="w1").count() == 10  # not due at that instant


@pytest.mark.django_db(transaction=True)
def test_a_journey_paused_while_its_timers_are_prepared_commits_nothing():
    made = two_waits("paused")
    due_at = timezone.now() + timedelta(seconds=3)
    waiting_at_w1(made, range(50), due_at)
    thread, result = staged_in_background(due_at)
    time.sleep(1)
    services.pause_campaign(campaign=made)
    thread.join(30)
    assert result["moved"] == 0
    assert Enrollment.objects.filter(step_id="w1").count() == 50
    assert not StepLog.objects.exists()


@pytest.mark.django_db
def test_with_nothing_to_prepare_the_worker_is_not_held_until_the_instant():
    two_waits("nothing")
    started = time.monotonic()
    assert runner.stage_waits(due_at=timezone.now() + timedelta(seconds=5)) == 0
    assert time.monotonic() - started < 2
