"""Step logs of enrollments that ended past the retention are purged; the log of people
still in a journey, enrollments and deliveries stay."""

from datetime import timedelta

import pytest

from campaigns import runner, services
from campaigns.models import Delivery, Enrollment, StepLog
from profiles.models import Profile

from .conftest import at, campaign, message

pytestmark = pytest.mark.django_db


def test_step_logs_of_enrollments_that_ended_past_the_retention_go(send, web, settings):
    settings.CAMPAIGNS_STEP_LOG_RETENTION_DAYS = 30
    send(
        web,
        *[
            message("identify", userId=f"u{i}", traits={"email": f"u{i}@example.org"})
            for i in range(3)
        ],
    )
    journey = campaign(
        [
            {"id": "tag", "type": "set_trait", "key": "welcomed", "value": True, "next": "w"},
            {"id": "w", "type": "wait", "minutes": 5},
        ],
        trigger_event="Signed Up",
    )
    for profile in Profile.objects.order_by("pk"):
        services.enroll(campaign=journey, profile_id=profile.pk, now=at(0))
    runner.run_due(now=at(0))
    runner.run_due(now=at(10))
    ended_long_ago, ended_lately, still_in = Enrollment.objects.order_by("pk")
    assert StepLog.objects.filter(enrollment=ended_long_ago).exists()
    # Two of them left the journey: one 40 days ago, one 10 days ago; one is still in it.
    Enrollment.objects.filter(pk=ended_long_ago.pk).update(finished_at=at(0) - timedelta(days=40))
    Enrollment.objects.filter(pk=ended_lately.pk).update(finished_at=at(0) - timedelta(days=10))
    Enrollment.objects.filter(pk=still_in.pk).update(
        finished_at=None, state=Enrollment.State.ACTIVE
    )
    logs = dict(
        (e.pk, StepLog.objects.filter(enrollment=e).count())
        for e in (ended_long_ago, ended_lately, still_in)
    )
    deliveries = Delivery.objects.count()

    assert services.purge_step_logs(now=at(0)) == logs[ended_long_ago.pk]

    assert not StepLog.objects.filter(enrollment=ended_long_ago).exists()
    assert StepLog.objects.filter(enrollment=ended_lately).count() == logs[ended_lately.pk]
    assert StepLog.objects.filter(enrollment=still_in).count() == logs[still_in.pk]
    assert Enrollment.objects.count() == 3 and Delivery.objects.count() == deliveries


def test_a_step_log_retention_of_zero_keeps_every_log(send, web, settings):
    settings.CAMPAIGNS_STEP_LOG_RETENTION_DAYS = 0
    send(web, message("identify", userId="u", traits={"email": "u@example.org"}))
    journey = campaign(
        [{"id": "tag", "type": "set_trait", "key": "welcomed", "value": True}],
        trigger_event="Signed Up",
    )
    services.enroll(campaign=journey, profile_id=Profile.objects.get().pk, now=at(0))
    runner.run_due(now=at(0))
    Enrollment.objects.update(finished_at=at(0) - timedelta(days=10_000))
    before = StepLog.objects.count()
    assert before and services.purge_step_logs(now=at(0)) == 0
    assert StepLog.objects.count() == before
