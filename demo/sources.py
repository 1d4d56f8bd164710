"""The demo company's sources: one per system it runs, found by name so reruns reuse them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

from integrations import services
from integrations.models import Event, Source

from . import profile_setup


@dataclass(frozen=True)
class DemoSource:
    key: str  # the channel name the simulation uses
    name: str
    kind: str
    party: str
    # Who wins a disputed trait later: the CRM and the ERP are the company's records of
    # truth, the web forms come next, bought data last.
    priority: int
    via_file: bool = False
    # What the system's userId is, for identity resolution (profiles.SourceIdentity).
    user_id_kind: str = "user_id"


K, P = Source.Kind, Source.Party
DEMO_SOURCES = (
    DemoSource("website", "Trailhead · Webshop", K.WEBSITE, P.FIRST, 60),
    DemoSource("app", "Trailhead · Mobile app", K.MOBILE_APP, P.FIRST, 60),
    DemoSource("crm", "Trailhead · CRM", K.CRM, P.FIRST, 90, user_id_kind="crm_id"),
    DemoSource(
        "pos", "Trailhead · Store tills", K.POINT_OF_SALE, P.FIRST, 80, user_id_kind="loyalty_card"
    ),
    # The ERP keys invoices by the CRM id where the customer has one (else a debtor id).
    DemoSource("erp", "Trailhead · ERP", K.ERP, P.FIRST, 85, user_id_kind="crm_id"),
    DemoSource("email", "Trailhead · E-mail platform", K.EMAIL, P.FIRST, 50, user_id_kind="email"),
    DemoSource(
        "partner",
        "Peak Pass members (partner file)",
        K.PARTNER,
        P.SECOND,
        40,
        True,
        user_id_kind="partner_member_id",
    ),
    DemoSource("provider", "Data provider append (file)", K.DATA_PROVIDER, P.THIRD, 20, True),
)
BY_KEY = {spec.key: spec for spec in DEMO_SOURCES}


@transaction.atomic
def ensure_demo_sources() -> dict[str, Source]:
    """The demo sources by channel key, created the first time (never duplicated)."""
    found = {}
    for spec in DEMO_SOURCES:
        source = Source.objects.filter(name=spec.name).order_by("id").first()
        if source is None:
            source = services.create_source(
                name=spec.name,
                kind=spec.kind,
                party=spec.party,
                priority=spec.priority,
                # Every simulated visitor's calls come from this one machine.
                ip_rate_limit=0,
            )
        found[spec.key] = source
    profile_setup.configure(sources=found, specs=BY_KEY)
    return found


def demo_sources_exist() -> bool:
    return Source.objects.filter(name__in=[s.name for s in DEMO_SOURCES]).exists()


def stored_events(*, sources: dict[str, Source]) -> dict[str, int]:
    """Events in the table per channel key (one grouped query over the demo sources)."""
    ids = {source.pk: key for key, source in sources.items()}
    rows = (
        Event.objects.filter(source_id__in=ids)
        .order_by()
        .values("source_id")
        .annotate(n=Count("id"))
        .values_list("source_id", "n")
    )
    counts = dict.fromkeys(sources, 0)
    for source_id, n in rows:
        counts[ids[source_id]] = n
    return counts
