"""Addresses no message goes to any more (``Undeliverable``): an e-mail address that
bounced for good or whose owner complained. An e-mail to one is skipped
with the reason when its batch is sent (campaigns/delivery.py asks once per batch), so a
send queued before the bounce came is skipped too."""

from __future__ import annotations

from django.db import transaction

from cdp_site.contact_points import normalize_email

from .models import Delivery, Undeliverable

KIND_WORDS = {"bounce": "bounced", "complaint": "marked a message as spam"}


def _key(channel: str, address) -> str:
    if channel == Delivery.Channel.EMAIL:
        return normalize_email(address) or ""
    return str(address or "").strip()


def reason(kind: str) -> str:
    return f"address undeliverable: it {KIND_WORDS.get(kind, kind)}"


def among(channel: str, addresses) -> dict[str, str]:
    """{address: kind} of those of ``addresses`` that are undeliverable (one query)."""
    keys = {_key(channel, a) for a in addresses} - {""}
    if not keys:
        return {}
    rows = Undeliverable.objects.filter(channel=channel, address__in=keys)
    return dict(rows.values_list("address", "kind"))


@transaction.atomic
def mark(*, channel: str, address, kind: str, reason: str = "", via: str, delivery_id=None) -> bool:
    """Marks ``address`` undeliverable; True when it was not already. A complaint
    outranks a bounce (it is kept as the reason once either is recorded)."""
    key = _key(channel, address)
    if not key:
        return False
    row, created = Undeliverable.objects.get_or_create(
        channel=channel,
        address=key,
        defaults={"kind": kind, "reason": reason[:300], "via": via, "delivery_id": delivery_id},
    )
    if not created and kind == Undeliverable.Kind.COMPLAINT and row.kind != kind:
        row.kind, row.reason = kind, reason[:300]
        row.save(update_fields=["kind", "reason"])
    return created
