"""The demo's CRM imitation and its connection: a newcomer's `make demo` syncs it on a
schedule, and each minute's lifecycle moves arrive with the next run."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from demo import catalog, pull_services, pull_shop
from integrations import processing
from integrations.catalog.models import Product
from integrations.connectors import services
from integrations.connectors.models import Connection, SyncRun
from profiles.models import Identity, ProfileEvent
from tests.support.connectors import drive

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm():
    imitation = pull_services.start_crm(seed=42, customers=60)
    yield imitation
    imitation.stop()


def test_the_demo_crm_syncs_into_profiles_and_its_moves_arrive_next_run(crm):
    connection = pull_services.ensure_crm_connection(url=crm.url)
    assert pull_services.ensure_crm_connection(url=crm.url) == connection  # found, not doubled
    assert connection.schedule_minutes == pull_services.SCHEDULE_MINUTES
    contacts = len(crm.state["objects"]["contacts"])
    assert contacts > 10
    first = services.start_run(connection=connection)
    drive(first)
    assert first.status == SyncRun.Status.SUCCEEDED and first.rejected == 0
    while processing.process_inbox_batch():
        pass
    contact_ids = set(crm.state["objects"]["contacts"])
    linked = Identity.objects.filter(kind__name="hubspot_id", value__in=contact_ids)
    assert linked.count() == contacts
    emails = {r["properties"]["email"] for r in crm.state["objects"]["contacts"].values()}
    with_email = Identity.objects.filter(
        kind__name="email", value__in=emails, profile__in=linked.values("profile")
    )
    assert with_email.count() == contacts  # one profile per person: id and address together

    moved = pull_services.tick(crm, rng=random.Random(1), now=datetime.now(UTC))
    again = services.start_run(connection=connection)
    drive(again)
    assert moved == 3 and again.stored >= moved


def test_the_connection_follows_the_imitation_to_another_port(crm):
    connection = pull_services.ensure_crm_connection(url="http://127.0.0.1:9/")
    pull_services.ensure_crm_connection(url=crm.url)
    connection = Connection.objects.get(pk=connection.pk)
    assert connection.base_url == crm.url
    assert services.test_connection(connection=connection).ok


@pytest.fixture
def shop():
    imitation = pull_shop.start_shop(seed=42, customers=60)
    yield imitation
    imitation.stop()


def test_the_demo_shop_syncs_customers_orders_and_the_catalogue(shop):
    connection = pull_shop.ensure_shop_connection(url=shop.url)
    run = services.start_run(connection=connection)
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED and run.rejected == 0, run.errors
    assert Product.objects.filter(source=connection.source).count() == len(catalog.PRODUCTS)
    while processing.process_inbox_batch():
        pass
    customers = len(shop.state["customers"])
    assert Identity.objects.filter(kind__name="shopify_customer_id").count() == customers
    orders = ProfileEvent.objects.filter(name="Order Completed")
    assert orders.count() == len(shop.state["orders"]) and orders.exists()
    assert all((e.context or {}).get("backfill") for e in orders)  # history starts nothing

    # An order placed after the connection was made (its time in whole seconds, as Shopify's).
    later = datetime.now(UTC) + timedelta(seconds=2)
    assert pull_shop.tick(shop, rng=random.Random(2), now=later) == 1
    again = services.start_run(connection=connection)
    drive(again)
    while processing.process_inbox_batch():
        pass
    fresh = ProfileEvent.objects.filter(name="Order Completed").order_by("-timestamp").first()
    placed = shop.state["orders"][-1]["processedAt"]
    assert fresh.timestamp.isoformat().replace("+00:00", "Z") == placed
    assert not (fresh.context or {}).get("backfill")  # a new order is news
