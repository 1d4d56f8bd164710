"""Double opt-in for e-mail addresses that only a client source stated.

A website form or an app can state any address (the write key is public), so such an
address is not written to until its owner confirms it: the first message that would
have gone to it is skipped and a confirmation e-mail with a signed link goes out
instead (at most once a week per address). The link opens a page with a button: mail
scanners follow links, so the confirmation itself is a POST.

Services: ``request`` (campaigns call it when they skip), ``send`` (its task),
``confirm`` (the page). A confirmed address counts for every profile that holds it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cdp_site import outbox

from .models import EmailConfirmation
from .sql import execute

logger = logging.getLogger(__name__)

SALT = "cdp.profiles.email-confirmation"
LINK_DAYS = 14  # how long a confirmation link works
ASK_AGAIN_AFTER = timedelta(days=7)
SUBJECT = "Please confirm your e-mail address"
BODY = (
    "Someone asked to receive e-mails from us at this address.\n\n"
    "If it was you, please confirm it here:\n{link}\n\n"
    "If it was not you, ignore this e-mail: nothing will be sent to you."
)
MARK_PROFILES = """
UPDATE profiles_profile p SET email_confirmed = true
WHERE NOT p.email_confirmed AND lower(trim(p.traits->>'email')) = %s
"""


class BadLink(Exception):
    """The link was not made here, was altered, or is too old."""


def normalised(address: str) -> str:
    return address.strip().lower()


@transaction.atomic
def request(*, address: str) -> bool:
    """Asks the owner of ``address`` to confirm it, unless it is confirmed or was asked
    within the week; the e-mail goes out after the commit. True when one was queued."""
    address = normalised(address)
    now = timezone.now()
    found, created = EmailConfirmation.objects.select_for_update().get_or_create(
        address=address, defaults={"requested_at": now}
    )
    if found.confirmed_at is not None:
        return False
    if not created:
        if found.requested_at > now - ASK_AGAIN_AFTER:
            return False
        found.requested_at = now
        found.save(update_fields=["requested_at"])
    outbox.enqueue("profiles.tasks.send_email_confirmation", address)
    return True


def link(address: str) -> str:
    token = signing.dumps(normalised(address), salt=SALT, compress=True)
    return settings.CDP_PUBLIC_URL + reverse("profiles:confirm-email", args=[token])


def send(*, address: str) -> None:
    send_mail(SUBJECT, BODY.format(link=link(address)), None, [address])


def read(token: str) -> str:
    try:
        return signing.loads(token, salt=SALT, max_age=timedelta(days=LINK_DAYS))
    except signing.BadSignature:  # SignatureExpired is one
        raise BadLink("This confirmation link is not valid or has expired.") from None


@transaction.atomic
def confirm(*, token: str) -> str:
    """Marks the address confirmed, for every profile that holds it as its e-mail."""
    address = read(token)
    EmailConfirmation.objects.update_or_create(
        address=address,
        defaults={"confirmed_at": timezone.now()},
        create_defaults={"requested_at": timezone.now(), "confirmed_at": timezone.now()},
    )
    execute(MARK_PROFILES, [address])
    logger.info("e-mail address confirmed")
    return address
