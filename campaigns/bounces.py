"""The bounce folders of the SMTP destinations: each DSN (RFC 3464) or complaint report
(ARF) dropped into a destination's ``config.bounce_folder`` (a maildir inside the export
root; integrations/destinations/dsn.py parses) marks its address undeliverable and its
delivery failed, or delivered (campaigns/channel_events.py). One message that cannot be
read is moved to ``failed/`` with the reason logged; the rest go on."""

from __future__ import annotations

import logging

from integrations.destinations import dsn
from integrations.destinations.models import Destination

from . import channel_events

logger = logging.getLogger(__name__)
VIA = "bounce folder"


def read_bounce_folders(*, limit: int = 500) -> dict:
    """Reads every enabled SMTP destination's bounce folder; counts of what was done."""
    counts = {"read": 0, "failed": 0, "reports": 0}
    for destination in Destination.objects.filter(kind=Destination.Kind.SMTP, enabled=True):
        folder = (destination.config or {}).get("bounce_folder")
        if not folder:
            continue
        try:
            paths = dsn.pending(folder)[:limit]
        except (ValueError, OSError) as exc:
            logger.warning("bounce folder of %s unreadable: %s", destination.pk, exc)
            continue
        for path in paths:
            read_one(path, counts)
    return counts


def read_one(path, counts: dict) -> None:
    try:
        reports = dsn.parse(dsn.read(path))
    except (dsn.NotAReport, OSError, UnicodeError) as exc:
        logger.warning("bounce message %s set aside: %s", path.name, exc)
        dsn.file_away(path, ok=False)
        counts["failed"] += 1
        return
    for report in reports:
        detail = " ".join(filter(None, [report.status, report.diagnostic]))
        channel_events.email_event(
            channel_events.EmailEvent(
                type=report.type, email=report.email, message_id=report.message_id, detail=detail
            ),
            via=VIA,
        )
    counts["reports"] += len(reports)
    counts["read"] += 1
    dsn.file_away(path, ok=True)
