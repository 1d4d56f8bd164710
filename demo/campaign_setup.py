"""The demo company's journeys: every journey of the gallery (campaigns/gallery.py),
created and started before the demo data arrives, their e-mails going to the demo
mailbox (demo/mailbox.py), so that a newcomer sees e-mails and results within minutes.

Demo time is short: a journey's opening wait is left out (it starts at the step after
it), and every other wait, and every wait for an event, lasts one minute. The cart
reminder, an hour and more in the gallery, comes a minute after the abandoned checkout.
Each journey's description says so. The e-mail cap is raised for the demo (10 a day,
unless one was saved). Created once (by gallery key); a journey already there is left as
it is, whatever its state.
"""

from __future__ import annotations

import copy

from django.db import transaction

from campaigns import gallery, services
from campaigns.journeys import buttons
from campaigns.models import ActivationSettings, Campaign, ChannelRules

from . import mailbox

DEMO_MINUTES = 1
# Every journey starts at once on a year of history, so a person may be due several
# e-mails in the first minutes: the default cap (3 a week) would hold back the cart
# reminders that come a minute after the rest. Set only when no cap was saved yet.
DEMO_EMAIL_CAP = {"max_messages": 10, "per_days": 1, "quiet_start": None, "quiet_end": None}
NOTE = " Demo: waits shortened to a minute, the opening wait left out."


def shortened(steps: list[dict]) -> list[dict]:
    """``steps`` on demo time (see the module's docstring)."""
    steps = copy.deepcopy(steps)
    if len(steps) > 1 and steps[0].get("type") == "wait":
        buttons.apply_action(steps, "remove:0")
    for step in steps:
        if step.get("type") == "wait":
            step.pop("until", None)
            step["minutes"] = DEMO_MINUTES
        elif step.get("type") == "wait_for_event":
            step["timeout_minutes"] = DEMO_MINUTES
    return steps


@transaction.atomic
def ensure_demo_journeys(*, mailbox_port: int = mailbox.DEFAULT_PORT) -> list[Campaign]:
    """Creates and starts the gallery's journeys that the demo does not have yet, their
    e-mails to the demo mailbox on ``mailbox_port``; returns those it created."""
    mailbox.ensure_destination(port=mailbox_port)
    if not ChannelRules.objects.filter(channel=ChannelRules.Channel.EMAIL).exists():
        zone = ActivationSettings.load().time_zone
        services.save_protection(time_zone=zone, channels={"email": DEMO_EMAIL_CAP})
    made = []
    have = set(Campaign.objects.exclude(gallery_key="").values_list("gallery_key", flat=True))
    for item in gallery.ITEMS:
        if item.key in have:
            continue
        campaign = gallery.create(key=item.key)
        services.update_campaign(
            campaign=campaign,
            steps=shortened(campaign.steps),
            description=campaign.description + NOTE,
        )
        services.start_campaign(campaign=campaign)
        made.append(campaign)
    return made
