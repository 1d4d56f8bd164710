"""The Shopify connector against a local imitation of a store's GraphQL Admin API.

Runs are driven slice by slice (``drive``), as the Celery task does; a wait a slice asks
for (a throttled query, a low cost bucket) moves the store's clock on instead of sleeping,
as the task's countdown would."""

import json
import time
from datetime import UTC, datetime

import pytest

from demo.imitations import shopify as shop
from integrations.catalog.models import Product
from integrations.catalog.selectors import product_by_sku
from integrations.connectors import services, sync
from integrations.connectors.models import StreamState, SyncRun
from integrations.models import Event, RejectedEvent

pytestmark = pytest.mark.django_db

TOKEN = "shpat_fixed0000"


def drive(run: SyncRun, store=None, *, seq: int = 0, max_slices: int = 100) -> list[sync.Next]:
    """Runs the slices of ``run`` until it ends; the steps, in order."""
    steps = []
    for _ in range(max_slices):
        step = sync.run_slice(run_id=run.id, seq=seq)
        steps.append(step)
        if step.seq is None:
            run.refresh_from_db()
            return steps
        if store is not None and step.delay:
            store.advance(step.delay)
        seq = step.seq
    raise AssertionError("the run did not end")


def connect(api, *streams: str, token: str = TOKEN, client: tuple | None = None):
    config, secrets = {}, {"access_token": token}
    if client:
        config, secrets = {"client_id": client[0]}, {"client_secret": client[1]}
    return services.create_connection(
        name="Trailhead store",
        kind="shopify",
        base_url=api.url,
        config=config,
        secrets=secrets,
        streams={name: {} for name in streams} if streams else None,
    )


def graphql_calls(api) -> list[dict]:
    return [r.json() for r in api.requests if r.path.endswith("/graphql.json")]


def events(name: str | None = None):
    found = Event.objects.all()
    return found.filter(event=name) if name else found


def revenue_of(order_id: str) -> float:
    return sum(
        e.payload["properties"].get("revenue", 0)
        for e in events()
        if e.payload.get("properties", {}).get("order_id") == order_id
    )


@pytest.fixture
def api():
    imitation = shop.start(
        customers=[shop.customer(n) for n in range(250)],
        orders=[shop.order(n, customer_n=n % 7, total=100 + n) for n in range(45)],
        products=[shop.product(n) for n in range(30)],
        admin_token=TOKEN,
        client_id="app-client",
        client_secret="app-secret",
    )
    yield imitation
    imitation.stop()


@pytest.fixture
def store(api):
    return shop.store(api)


def test_customers_are_read_page_by_page_as_identify_calls(api, store):
    run = services.start_run(connection=connect(api, "customers"))
    drive(run, store)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.pages, run.stored, run.rejected) == (3, 250, 0)
    calls = graphql_calls(api)
    assert [c["variables"]["first"] for c in calls] == [100, 100, 100]
    assert calls[0]["variables"]["after"] is None and calls[2]["variables"]["after"]
    assert "sortKey: UPDATED_AT" in calls[0]["query"]
    assert all(r.headers["x-shopify-access-token"] == TOKEN for r in api.requests)
    first = events().get(user_id="7004").payload
    assert first["traits"]["email"] == "shopper4@example.com"
    assert first["traits"]["emailOptIn"] is True  # SUBSCRIBED
    assert first["traits"]["numberOfOrders"] == 0 and first["traits"]["amountSpent"] == 40.0
    # NOT_SUBSCRIBED says nothing: it must not withdraw a consent given elsewhere.
    assert "emailOptIn" not in events().get(user_id="7005").payload["traits"]
    # The next run asks only for what changed since the newest customer it saw.
    drive(services.start_run(connection=run.connection), store)
    assert graphql_calls(api)[-1]["variables"]["query"] == "updated_at:>='2026-03-01T10:00:00Z'"


def test_each_order_is_one_order_completed_with_its_revenue_products_and_time(api, store):
    api.state["orders"].append(shop.order(99, customer_n=None, total=20))  # a guest checkout
    run = services.start_run(connection=connect(api, "orders"))
    drive(run, store)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.pages == 3 and events("Order Completed").count() == 46
    completed = events("Order Completed").get(payload__properties__order_id="5003")
    assert completed.user_id == "7003"
    assert completed.timestamp == datetime(2026, 3, 2, 12, tzinfo=UTC)  # processedAt
    props = completed.payload["properties"]
    assert (props["revenue"], props["currency"]) == (103.0, "USD")
    assert props["products"] == [
        {"product_id": "8003", "variant_id": "44003", "sku": "TH-1001", "name": "Item TH-1001",
         "category": "Tents", "quantity": 1, "price": 103.0}
    ]  # fmt: skip
    guest = events("Order Completed").get(payload__properties__order_id="5099")
    assert guest.user_id is None and guest.anonymous_id == "shopify-order-5099"
    assert guest.payload["context"]["traits"] == {"email": "guest@example.com"}
    assert not events().exclude(event="Order Completed").exists()


def test_an_order_edited_later_is_order_updated_and_its_revenue_is_counted_once(api, store):
    connection = connect(api, "orders")
    drive(services.start_run(connection=connection), store)
    edited = shop.order(3, customer_n=3, total=180, updated="2026-04-10T09:30:00Z")
    store.put("orders", edited)
    run = services.start_run(connection=connection)
    drive(run, store)
    assert run.stored == 1
    updated = events("Order Updated").get()
    assert updated.payload["properties"]["order_id"] == "5003"
    assert updated.payload["properties"]["total"] == 180.0
    assert "revenue" not in updated.payload["properties"]
    assert updated.timestamp == datetime(2026, 4, 10, 9, 30, tzinfo=UTC)
    assert events("Order Completed").filter(payload__properties__order_id="5003").count() == 1
    assert revenue_of("5003") == 103.0
    # Read again (the inclusive overlap), nothing is stored twice.
    again = services.start_run(connection=connection)
    drive(again, store)
    assert again.stored == 0 and events("Order Updated").count() == 1


def test_a_refund_is_order_refunded_with_the_refunded_amount(api, store):
    connection = connect(api, "orders")
    drive(services.start_run(connection=connection), store)
    refunded = shop.order(5, customer_n=5, total=105, updated="2026-04-01T08:00:00Z")
    refunded["refunds"] = [
        {
            "id": shop.gid("Refund", 321),
            "createdAt": "2026-04-01T08:00:00Z",
            "totalRefundedSet": shop.money(45),
        }
    ]
    store.put("orders", refunded)
    drive(services.start_run(connection=connection), store)
    refund = events("Order Refunded").get()
    assert refund.payload["properties"]["order_id"] == "5005"
    assert refund.payload["properties"]["total"] == 45.0
    assert refund.timestamp == datetime(2026, 4, 1, 8, tzinfo=UTC)
    assert revenue_of("5005") == 105.0  # the refund subtracts; Completed is not repeated


def test_a_throttled_query_waits_for_the_bucket_to_refill_then_completes(api, store):
    api.state["bucket"].update(maximum=1000.0, rate=50.0)
    run = services.start_run(connection=connect(api, "customers"))
    store.throttle(available=10)
    waited = sync.run_slice(run_id=run.id, seq=0)
    # The customers query asks for 102 points; 92 more come back in 1.84 s at 50 a second.
    assert waited.seq == 1 and waited.delay == pytest.approx(1.84, abs=0.05)
    run.refresh_from_db()
    assert "throttled" in run.note and run.retries == 0 and run.stored == 0
    store.advance(waited.delay)
    drive(run, store, seq=waited.seq)
    assert run.status == SyncRun.Status.SUCCEEDED and run.stored == 250


def test_a_low_bucket_makes_the_next_page_wait_before_it_is_sent(api, store):
    # Orders cost 902 points a page: after two pages a 1,000-point bucket cannot pay.
    api.state["bucket"].update(maximum=1000.0, available=1000.0, rate=50.0)
    run = services.start_run(connection=connect(api, "orders"))
    steps = drive(run, store)
    assert run.status == SyncRun.Status.SUCCEEDED and run.pages == 3
    assert any(step.delay > 0 for step in steps[:-1])
    assert run.requests == 3  # no query was sent into a throttle


def test_an_expired_client_credentials_token_is_renewed_and_stored_encrypted(api, store):
    connection = connect(api, "customers", client=("app-client", "app-secret"))
    drive(services.start_run(connection=connection), store)
    issue = api.requests[0]
    assert issue.path == "/admin/oauth/access_token"
    assert "grant_type=client_credentials" in issue.body.decode()
    connection.refresh_from_db()
    first = sync.secrets_of(connection)
    assert first["access_token"].startswith("shpat_")
    assert first["access_token"] not in connection.secrets_encrypted
    assert first["token_expires_at"] == pytest.approx(time.time() + 86399, abs=60)
    # A day later Shopify no longer takes it: the 401 gets a new token, and the run goes on.
    store.advance(86400)
    run = services.start_run(connection=connection)
    drive(run, store)
    assert run.status == SyncRun.Status.SUCCEEDED
    connection.refresh_from_db()
    second = sync.secrets_of(connection)["access_token"]
    assert second != first["access_token"] and second not in connection.secrets_encrypted
    assert api.requests[-1].headers["x-shopify-access-token"] == second


def test_a_token_about_to_expire_is_renewed_before_it_is_used(api, store):
    connection = connect(api, "customers", client=("app-client", "app-secret"))
    drive(services.start_run(connection=connection), store)
    connection.refresh_from_db()
    services.set_secrets(connection=connection, secrets={"token_expires_at": int(time.time()) + 60})
    sent = len(api.requests)
    drive(services.start_run(connection=connection), store)
    assert api.requests[sent].path == "/admin/oauth/access_token"
    connection.refresh_from_db()
    tokens = {r.headers.get("x-shopify-access-token") for r in api.requests[sent + 1 :]}
    assert tokens == {sync.secrets_of(connection)["access_token"]}


def test_a_wrong_client_secret_fails_the_run_clearly(api, store):
    run = services.start_run(connection=connect(api, client=("app-client", "not-it")))
    drive(run, store)
    assert run.status == SyncRun.Status.FAILED
    assert "Shopify issued no access token to client ID app-client" in run.error
    assert "HTTP 400" in run.error
    assert [r.path for r in api.requests] == ["/admin/oauth/access_token"]  # asked once


def test_a_revoked_fixed_token_fails_the_run_with_a_message_to_act_on(api, store):
    store.revoke()
    run = services.start_run(connection=connect(api))
    drive(run, store)
    assert run.status == SyncRun.Status.FAILED
    assert "refused the admin API access token (401)" in run.error
    assert not events().exists()


def test_a_500_is_retried_and_the_run_completes(api, store):
    run = services.start_run(connection=connect(api, "orders"))
    api.fail_next(500)
    steps = drive(run, store)
    assert steps[0].delay > 0
    assert run.status == SyncRun.Status.SUCCEEDED and events("Order Completed").count() == 45


def test_a_graphql_error_fails_the_run_with_its_message(api, store):
    api.handler = lambda imitation, request: (
        200,
        {},
        {"errors": [{"message": "Field 'foo' doesn't exist on type 'Order'"}]},
    )
    run = services.start_run(connection=connect(api, "orders"))
    drive(run, store)
    assert run.status == SyncRun.Status.FAILED
    assert run.error == "Shopify answered with an error: Field 'foo' doesn't exist on type 'Order'"


def test_a_malformed_record_is_rejected_with_its_reason_and_the_rest_stored(api, store):
    del api.state["orders"][4]["totalPriceSet"]
    api.state["customers"][7]["id"] = "7007"  # not a gid
    run = services.start_run(connection=connect(api, "customers", "orders"))
    drive(run, store)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.rejected == 2 and events("Order Completed").count() == 44
    reasons = sorted(e["reason"] for e in run.errors)
    assert reasons == [
        "Customer: Customer id '7007' is not a Shopify Customer gid.",
        "Order: totalPriceSet: the amount is missing or not a number.",
    ]
    assert "gid://shopify/Order/5004" in next(
        e["record"] for e in run.errors if "Order" in e["reason"]
    )
    assert RejectedEvent.objects.filter(code="connector_record").count() == 2


def test_products_fill_the_catalogue_and_an_update_changes_its_row(api, store):
    connection = connect(api, "products")
    run = services.start_run(connection=connection)
    drive(run, store)
    # Two pages of products, one of product deletions (none).
    assert run.status == SyncRun.Status.SUCCEEDED and run.pages == 3
    assert Product.objects.filter(source=connection.source).count() == 60 and run.stored == 60
    assert not events().exists()  # the catalogue, not events
    row = product_by_sku("SKU-3-0")
    assert (row.name, row.category, str(row.price), row.currency) == (
        "Product 3 – Size 0", "Tents", "103.00", "USD",
    )  # fmt: skip
    assert row.image_url == "https://cdn.example/p3.jpg" and row.in_stock is True
    assert product_by_sku("SKU-3-1").in_stock is False
    changed = shop.product(3, updated="2026-05-01T00:00:00Z", title="Ridge 3 Tent")
    changed["variants"][0]["price"] = "89.50"
    store.put("products", changed)
    again = services.start_run(connection=connection)
    drive(again, store)
    row.refresh_from_db()
    assert (row.name, str(row.price)) == ("Ridge 3 Tent – Size 0", "89.50")
    assert row.updated_at == datetime(2026, 5, 1, tzinfo=UTC)
    assert Product.objects.count() == 60
    state = StreamState.objects.get(connection=connection, stream="products")
    assert state.cursor["since"] == "2026-05-01T00:00:00Z"
    assert set(state.cursor) == {"since", "deleted_since"}


def test_test_connection_names_a_wrong_token(api):
    connection = connect(api, token="shpat_wrong")
    result = services.test_connection(connection=connection)
    assert not result.ok and result.code == "auth"
    assert "Enter a new token" in result.message
    assert services.test_connection(connection=connect(api)).ok


def test_the_query_bound_cannot_break_out_of_its_quotes(api, store):
    connection = connect(api, "customers")
    StreamState.objects.create(
        connection=connection, stream="customers", cursor={"since": "x' OR id:>0 '"}
    )
    drive(services.start_run(connection=connection), store)
    assert graphql_calls(api)[0]["variables"]["query"] is None
    assert json.dumps(graphql_calls(api)).count("OR id") == 0


def test_customers_and_their_orders_become_one_profile_with_its_consent(api, store):
    from integrations import processing
    from profiles.consent import may_use
    from profiles.models import Identity, ProfileEvent

    drive(services.start_run(connection=connect(api, "customers", "orders")), store)
    while processing.process_inbox_batch():
        pass
    subscribed = Identity.objects.get(kind__name="user_id", value="7004").profile
    assert may_use(subscribed, "email_marketing")
    assert not may_use(Identity.objects.get(kind__name="user_id", value="7005").profile,
                       "email_marketing")  # fmt: skip
    emails = Identity.objects.filter(profile=subscribed, kind__name="email")
    assert list(emails.values_list("value", flat=True)) == ["shopper4@example.com"]
    # Customer 4's orders (every seventh) are on the same profile, with their revenue.
    orders = ProfileEvent.objects.filter(profile=subscribed, name="Order Completed")
    assert sorted(e.properties["order_id"] for e in orders) == ["5004", "5011", "5018", "5025",
                                                                "5032", "5039"]  # fmt: skip


def test_a_message_kind_set_on_the_products_stream_does_not_turn_products_into_events(api, store):
    connection = connect(api, "products")
    connection.streams["products"]["message_kind"] = "track"
    connection.save(update_fields=["streams"])
    run = services.start_run(connection=connection)
    drive(run, store)
    assert run.status == SyncRun.Status.SUCCEEDED and run.stored == 60
    assert Product.objects.filter(source=connection.source).count() == 60
    assert not events().exists()


def big_order(items: int) -> dict:
    order = shop.order(77, customer_n=2, total=items * 5.0, updated="2026-03-03T09:00:00Z")
    order["lineItems"] = [shop.line_item(k, sku=f"BULK-{k}", price=5.0) for k in range(items)]
    return order


def test_an_order_with_more_line_items_than_one_page_is_completed_with_all_of_them(api, store):
    api.state["orders"].append(big_order(160))  # 30 in the page, then 100 and 30 more
    run = services.start_run(connection=connect(api, "orders"))
    drive(run, store)
    assert run.status == SyncRun.Status.SUCCEEDED
    completed = events("Order Completed").get(payload__properties__order_id="5077")
    skus = [p["sku"] for p in completed.payload["properties"]["products"]]
    assert skus == [f"BULK-{k}" for k in range(160)]
    assert completed.payload["properties"]["revenue"] == 800.0
    follow_ups = [c for c in graphql_calls(api) if "order(id:" in c["query"]]
    assert [c["variables"]["id"] for c in follow_ups] == [shop.gid("Order", 5077)] * 2
    assert follow_ups[0]["variables"]["after"] and follow_ups[1]["variables"]["after"]
    assert events("Order Completed").count() == 46  # every other order as before


def test_line_items_wait_for_the_cost_bucket_and_nothing_is_lost(api, store):
    # Orders ask for 902 points a page: a bucket that holds just that is left too low for
    # the next query, so the order waits in the cursor for the next slice.
    api.state["bucket"].update(maximum=1000.0, rate=50.0)
    api.state["orders"] = [big_order(75)]
    run = services.start_run(connection=connect(api, "orders"))
    store.throttle(available=910)
    first = sync.run_slice(run_id=run.id, seq=0)
    assert first.delay > 0 and not events().exists()
    state = StreamState.objects.get(connection=run.connection, stream="orders")
    assert [p["node"]["id"] for p in state.cursor["pending"]] == [shop.gid("Order", 5077)]
    store.advance(first.delay)
    drive(run, store, seq=first.seq)
    assert run.status == SyncRun.Status.SUCCEEDED
    products = events("Order Completed").get().payload["properties"]["products"]
    assert len(products) == 75
    assert not events().exclude(event="Order Completed").exists()


def test_a_product_with_many_variants_has_every_one_in_the_catalogue(api, store):
    api.state["products"] = [shop.product(1, variants=140)]
    connection = connect(api, "products")
    run = services.start_run(connection=connection)
    drive(run, store)
    assert run.status == SyncRun.Status.SUCCEEDED
    rows = Product.objects.filter(source=connection.source, product_id="8001")
    assert rows.count() == 140 == run.stored
    assert product_by_sku("SKU-1-139").name == "Product 1 – Size 139"


def test_a_product_deleted_in_the_shop_stops_being_offered_in_the_catalogue(api, store):
    from integrations.catalog.selectors import products as catalogue

    connection = connect(api, "products")
    drive(services.start_run(connection=connection), store)
    assert catalogue(source_id=connection.source_id, offered=True).count() == 30
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    store.delete_product(shop.gid("Product", 8003), at=now)
    run = services.start_run(connection=connection)
    drive(run, store)
    assert run.status == SyncRun.Status.SUCCEEDED
    gone = Product.objects.filter(source=connection.source, product_id="8003")
    assert [(p.in_stock, p.deleted_at) for p in gone] == [(False, parse(now))] * 2
    offered = catalogue(source_id=connection.source_id, offered=True)
    assert offered.count() == 29 and not offered.filter(product_id="8003").exists()
    assert Product.objects.count() == 60  # kept, for the orders that name it
    search = [c["variables"]["query"] for c in graphql_calls(api) if "events(" in c["query"]]
    assert search[-1].startswith("subject_type:PRODUCT AND action:destroy AND created_at:>='")
    # Read again from the same bound, the deletion is found again and changes nothing.
    again = services.start_run(connection=connection)
    drive(again, store)
    assert again.status == SyncRun.Status.SUCCEEDED and again.duplicates >= 1
    assert list(gone.values_list("deleted_at", flat=True)) == [parse(now)] * 2


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
