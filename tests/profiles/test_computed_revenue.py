"""The "revenue" aggregation: an order's amount read as the attribution report reads it
(the source's mapped revenue property, else revenue, else total), so that the RFM
monetary base adds up what attribution counts; and the upgrade that moves the installed
order_revenue definition onto it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cdp_site.models import QueuedTask
from integrations import services
from integrations.models import Source
from profiles import computed
from profiles.computed.definitions import check
from profiles.models import ComputedTrait

from .conftest import message, profile_of

pytestmark = pytest.mark.django_db


def _revenue_trait(**fields):
    return ComputedTrait.objects.create(
        key="spent", label="Spent", event_name="Order Completed", aggregation="revenue", **fields
    )


def _computed(user: str, trait) -> object:
    profile = profile_of("user_id", user)
    computed.recompute([profile.pk], definitions=[trait])
    profile.refresh_from_db()
    return profile.computed["spent"]


def test_revenue_falls_back_to_total_and_reads_numeric_text(web, send):
    orders = [{"revenue": 10}, {"total": 5.5}, {"revenue": "2.25"}, {"total": "n/a"}, {}]
    send(web, *[message(userId="u1", event="Order Completed", properties=p) for p in orders])
    assert _computed("u1", _revenue_trait()) == 17.75


def test_revenue_reads_the_property_the_source_maps(web, send):
    till = services.create_source(
        name="Till", kind=Source.Kind.POINT_OF_SALE, revenue_property="amount"
    )
    send(till, message(userId="u2", event="Order Completed", properties={"amount": 30}))
    # The mapped property wins over revenue; the other source's orders keep the default.
    send(till, message(userId="u2", event="Order Completed", properties={"revenue": 99}))
    send(web, message(userId="u2", event="Order Completed", properties={"revenue": 4}))
    assert _computed("u2", _revenue_trait()) == 34


def test_revenue_keeps_the_event_property_filters(web, send):
    send(
        web,
        message(userId="u3", event="Order Completed", properties={"revenue": 8, "currency": "EUR"}),
        message(userId="u3", event="Order Completed", properties={"revenue": 5, "currency": "USD"}),
    )
    euros = _revenue_trait(filters=[{"property": "currency", "op": "equals", "value": "EUR"}])
    assert _computed("u3", euros) == 8


def test_a_revenue_definition_names_no_property():
    fields = check({"key": "spent", "aggregation": "revenue", "event_name": "Order Completed"})
    assert fields["property"] == ""


BEFORE = [("profiles", "0012_attribution_external_touch")]
AFTER = [("profiles", "0013_computed_revenue")]


def test_upgrading_moves_the_installed_order_revenue_onto_revenue_and_queues_its_backfill(web):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    definitions = old.get_model("profiles", "ComputedTrait")
    definitions.objects.filter(key="order_revenue").update(aggregation="sum", property="revenue")
    definitions.objects.create(
        key="eur_revenue",
        label="EUR",
        event_name="Order Completed",
        aggregation="sum",
        property="revenue",
        filters=[{"property": "currency", "op": "equals", "value": "EUR"}],
    )
    old.get_model("profiles", "Profile").objects.create()
    queued_before = QueuedTask.objects.count()

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    installed = ComputedTrait.objects.get(key="order_revenue")
    assert (installed.aggregation, installed.property) == ("revenue", "")
    own = ComputedTrait.objects.get(key="eur_revenue")
    assert (own.aggregation, own.property) == ("sum", "revenue")  # an admin's: left alone
    queued = QueuedTask.objects.order_by("pk")[queued_before:]
    assert [(q.task, q.args) for q in queued] == [
        ("profiles.computed_tasks.backfill_computed_trait", [installed.pk])
    ]
