"""Any number of runners side by side: FOR UPDATE SKIP LOCKED gives each enrollment to
one of them, and the delivery's idempotency key keeps a step from acting twice."""

import time

import pytest

from campaigns import runner, services
from campaigns.models import Campaign, Delivery, Enrollment, StepLog
from profiles.models import Profile
from tests.campaigns.conftest import at
from tests.profiles.conftest import message
from tests.support.threads import side_by_side

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 40


def test_two_runners_never_process_the_same_enrollment(send, web):
    send(
        web,
        *[
            message("identify", userId=f"u{i}", traits={"email": f"u{i}@example.org"})
            for i in range(PEOPLE)
        ],
    )
    journey = services.create_campaign(
        name="tag",
        kind=Campaign.Kind.EVENT,
        trigger_event="Signed Up",
        steps=[
            {"id": "tag", "type": "set_trait", "key": "welcomed", "value": True, "next": "w"},
            {"id": "w", "type": "wait", "minutes": 5},
        ],
    )
    services.start_campaign(campaign=journey)

    for profile in Profile.objects.all():
        services.enroll(campaign=journey, profile_id=profile.pk, now=at(0))
    claimed = {0: [], 1: []}

    def work(n):
        while ids := runner.run_due(now=at(0), limit=3):
            claimed[n].extend(ids)
            # A breath between batches: on a busy machine the first runner would
            # otherwise take every batch before the second has even connected.
            time.sleep(0.02)

    side_by_side(work)
    assert claimed[0] and claimed[1], "both runners took a share"
    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == PEOPLE
    assert StepLog.objects.filter(step_id="tag").count() == PEOPLE
    assert Delivery.objects.filter(step_id="tag", status="sent").count() == PEOPLE
    assert set(Enrollment.objects.values_list("step_id", "state")) == {("w", "active")}
    assert Profile.objects.filter(traits__welcomed=True).count() == PEOPLE
