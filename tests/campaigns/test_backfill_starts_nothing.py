"""History a connector backfilled (``context.backfill``) lands on the timeline but never
starts an event-triggered campaign; the same event happening now does."""

from campaigns.models import Enrollment
from profiles.models import ProfileEvent
from tests.campaigns.conftest import at, campaign, person, pump
from tests.profiles.conftest import message, send, web  # noqa: F401


def test_a_backfilled_order_starts_no_campaign_and_a_new_one_does(send, web):  # noqa: F811
    steps = [{"id": "w", "type": "wait", "minutes": 1}]
    journey = campaign(steps, trigger_event="Order Completed", entry="every")
    ann = person(send, web, "ann")
    old = at(-90 * 24 * 60).isoformat()
    send(
        web,
        message(userId="ann", event="Order Completed", timestamp=old, context={"backfill": True}),
    )
    pump(0)
    assert not Enrollment.objects.filter(campaign=journey).exists()
    assert ProfileEvent.objects.get(profile=ann, name="Order Completed").context == {
        "backfill": True
    }
    send(web, message(userId="ann", event="Order Completed", timestamp=at(0).isoformat()))
    pump(1)
    assert Enrollment.objects.filter(campaign=journey, profile_id=ann.pk).count() == 1


def test_a_backfill_flag_alone_is_no_first_touch(send, web):  # noqa: F811
    ann = person(send, web, "ann")
    send(web, message(userId="ann", event="Order Completed", context={"backfill": True}))
    ann.refresh_from_db()
    assert "first_touch_source" not in (ann.computed or {})
