"""The demo company's systems that are read, not pushed: local imitations of its CRM
(HubSpot) that its connections sync on a schedule, so that a newcomer sees syncs run and
profiles enrich themselves. Demo services, on loopback only, labelled as such everywhere.

The CRM holds the same people as the rest of the demo (``people.make_person``): a
contact per person with a CRM id, under HubSpot's own numeric contact id (kept as a
``hubspot_id`` identifier; the sync links to the profiles the other systems built by the
e-mail address), and companies for the B2B customers. ``tick`` moves a few contacts
along their lifecycle every minute, so each scheduled run has something new to bring.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction

from integrations.connectors import services as connectors
from integrations.connectors.models import Connection
from profiles.models import IdentifierKind
from profiles.rules import services as rules

from .imitations import hubspot
from .people import make_person

# A demo service's token, not a secret of anything real.
DEMO_TOKEN = "demo-crm-token"  # noqa: S105
CRM_NAME = "Trailhead · CRM sync (demo HubSpot imitation)"
CONTACTS = 400  # the CRM imitation holds at most this many people (kept light)
SCHEDULE_MINUTES = 5
STAGES = ("subscriber", "lead", "marketingqualifiedlead", "opportunity", "customer")


def fill_crm(imitation, *, seed: int, customers: int, now: datetime) -> int:
    """Puts the first people with a CRM id into the CRM imitation; returns how many."""
    rng, count = random.Random(f"crm:{seed}"), 0
    for index in range(min(customers, CONTACTS * 3)):
        person, _ = make_person(seed=seed, index=index)
        if person.crm_id is None or count >= CONTACTS:
            continue
        count += 1
        modified = now - timedelta(days=rng.randint(1, 300), minutes=rng.randint(0, 1440))
        contact_id = 100_000 + index
        hubspot.put(
            imitation,
            "contacts",
            contact_id,
            modified=modified,
            email=person.email,
            firstname=person.first_name,
            lastname=person.last_name,
            phone=person.phone,
            company=person.company,
            lifecyclestage=rng.choice(STAGES),
        )
        if person.company:
            company_id = 900_000_000 + zlib.crc32(person.company.encode()) % 10**8
            hubspot.put(imitation, "companies", company_id, modified=modified, name=person.company)
            hubspot.associate(imitation, "contacts", contact_id, "companies", company_id)
    return count


def tick(imitation, *, rng: random.Random, now: datetime) -> int:
    """A few contacts move one lifecycle stage on, as sales work does; returns how many."""
    with imitation.lock:
        contacts = list(imitation.state["objects"]["contacts"].values())
    moved = 0
    for record in rng.sample(contacts, min(3, len(contacts))):
        properties = record["properties"]
        stage = properties.get("lifecyclestage") or STAGES[0]
        following = (
            STAGES[min(STAGES.index(stage) + 1, len(STAGES) - 1)] if stage in STAGES else STAGES[0]
        )
        kept = {
            k: properties.get(k) for k in ("email", "firstname", "lastname", "phone", "company")
        }
        hubspot.put(
            imitation, "contacts", record["id"], modified=now, lifecyclestage=following, **kept
        )
        moved += 1
    return moved


@dataclass(frozen=True)
class DemoConnection:
    """A demo connection: its source's name, its kind, the demo token and the identifier
    its source's user ids are (the service's own ids, not the website's)."""

    name: str
    kind: str
    token: str
    priority: int
    id_kind: str
    id_label: str


@transaction.atomic
def ensure_connection(spec: DemoConnection, *, url: str) -> Connection:
    """The demo connection of ``spec``, created once and pointed at the running imitation."""
    found = Connection.objects.filter(source__name=spec.name).first()
    if found is None:
        created = connectors.create_connection(
            name=spec.name,
            kind=spec.kind,
            base_url=url,
            secrets={"access_token": spec.token},
            schedule_minutes=SCHEDULE_MINUTES,
            priority=spec.priority,
        )
        rules.set_source_user_kind(source=created.source, kind=_identifier_kind(spec))
        return created
    if found.base_url != url:  # another port this time: the demo token goes with it
        connectors.update_connection(connection=found, base_url=url)
        connectors.set_secrets(connection=found, secrets={"access_token": spec.token})
    return found


def _identifier_kind(spec: DemoConnection) -> IdentifierKind:
    found = IdentifierKind.objects.filter(name=spec.id_kind).first()
    return found or rules.create_kind(
        name=spec.id_kind,
        label=spec.id_label,
        priority=80,
        max_per_profile=1,
        normalizer="text",
        trait_keys=[],
    )


# HubSpot's contact ids are not the company CRM's ids (crm_id, one per person): they are
# an identifier of their own.
CRM = DemoConnection(CRM_NAME, "hubspot", DEMO_TOKEN, 90, "hubspot_id", "HubSpot contact id")


def ensure_crm_connection(*, url: str) -> Connection:
    return ensure_connection(CRM, url=url)


def start_crm(*, seed: int, customers: int, port: int = 0):
    imitation = hubspot.start(token=DEMO_TOKEN, port=port)
    fill_crm(imitation, seed=seed, customers=customers, now=datetime.now(UTC))
    return imitation
