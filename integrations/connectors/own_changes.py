"""Changes our own audience sync made in an e-mail tool, so its connector does not read
them back as news.

When the audience sync (campaigns, issue 18) subscribes, unsubscribes or updates a member
in Mailchimp, the service answers with the member's new ``last_changed``; the sync calls
``note_own_change(list_id=, email_hash=, changed_at=)`` with it. The Mailchimp connector
later reads that member changed at that very time and skips it (``recorded``): the change
came from us, and reading it back would state our own consent decision again as if the
person had made it in Mailchimp. A change the person makes afterwards has another
``last_changed`` and is read as usual.

Kept in Redis for ``KEEP_SECONDS``: a note lost with Redis only means our own change is
read back once, which restates what the profile already says (consent records only
changes, traits the same values), so a table's durability is not worth a migration here.

Others may use: ``note_own_change``, ``recorded``, ``email_hash``.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from cdp_site.redis_client import client as redis_client

from .records import parse_time

logger = logging.getLogger(__name__)

KEEP_SECONDS = 90 * 24 * 3600  # longer than any connection's pause is likely to be
PREFIX = "cdp:connector:own-change"


def email_hash(email: str) -> str:
    """Mailchimp's subscriber hash: the MD5 of the lower-cased address (its member id)."""
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def _key(list_id: str, member: str, changed_at) -> str | None:
    when = changed_at if isinstance(changed_at, datetime) else parse_time(changed_at)
    if when is None or not member:
        return None
    # Whole seconds since the epoch: the same instant however the service wrote it
    # ("+00:00" or "Z", another offset).
    return f"{PREFIX}:{list_id}:{member.lower()}:{int(when.timestamp())}"


def note_own_change(*, list_id: str, email_hash: str, changed_at) -> None:
    """Records that our sync changed this member at ``changed_at`` (the ``last_changed``
    the service answered, a datetime or ISO text). Raises ValueError for a time that
    cannot be read: the caller passes on what the service said, so it must be right."""
    key = _key(list_id, email_hash, changed_at)
    if key is None:
        raise ValueError(f"Not a member hash and a change time: {email_hash!r}, {changed_at!r}.")
    redis_client().set(key, 1, ex=KEEP_SECONDS)


def recorded(*, list_id: str, changes: list[tuple[str, object]]) -> set[int]:
    """The positions in ``changes`` ((member hash, last_changed) pairs) that our own sync
    made. Redis down: none (the changes are read back, which is harmless, see above)."""
    keys = [_key(list_id, member, when) for member, when in changes]
    asked = [(i, k) for i, k in enumerate(keys) if k is not None]
    if not asked:
        return set()
    try:
        pipe = redis_client().pipeline()
        for _, key in asked:
            pipe.exists(key)
        found = pipe.execute()
    except Exception:  # noqa: BLE001 - any Redis failure: read everything, lose nothing
        logger.warning("own changes of list %s not checked: Redis unavailable", list_id)
        return set()
    return {i for (i, _), hit in zip(asked, found, strict=True) if hit}
