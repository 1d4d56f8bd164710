"""Reads of campaigns for the dashboard (insights' home page): the running campaigns with
their sends and conversions, each a bounded count (cdp_site.counting) through the
campaign's own rows. Other apps may use every function here."""

from __future__ import annotations

from cdp_site.counting import bounded_count

from .models import Campaign, Delivery, Enrollment


def running(*, limit: int = 5) -> dict:
    """{"count": running campaigns, "campaigns": [{"id", "name", "sent", "converted"}]}
    for the first ``limit`` by name: ``sent`` its messages sent, ``converted`` the people
    who reached its goal (each a cdp_site.counting.Count)."""
    active = Campaign.objects.filter(status=Campaign.Status.ACTIVE)
    shown = []
    for pk, name in active.order_by("name", "pk").values_list("pk", "name")[:limit]:
        sent = Delivery.objects.filter(
            campaign_id=pk, status__in=[Delivery.Status.SENT, Delivery.Status.DELIVERED]
        )
        converted = Enrollment.objects.filter(campaign_id=pk, converted_at__isnull=False)
        shown.append(
            {
                "id": pk,
                "name": name,
                "sent": bounded_count(sent),
                "converted": bounded_count(converted),
            }
        )
    return {"count": active.count(), "campaigns": shown}
