"""The demo company: sent through the live HTTP API and the file import, reproducibly."""

import types
from collections import defaultdict
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from demo.load import load_demo_data
from demo.sources import DEMO_SOURCES, ensure_demo_sources
from demo.world import World
from integrations.imports.models import FileImport
from integrations.models import Event, RejectedEvent, Source

CUSTOMERS = 50
SEED = 7


@pytest.fixture
def demo_var(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the CSVs, the import uploads and the marker
    return tmp_path


@pytest.fixture
def loaded(transactional_db, live_server, demo_var):
    return load_demo_data(url=live_server.url, customers=CUSTOMERS, seed=SEED)


def _events(key: str):
    return Event.objects.filter(source=ensure_demo_sources()[key])


def test_every_demo_source_receives_its_events_through_the_api_and_file_import(loaded, demo_var):
    sources = ensure_demo_sources()
    for spec in DEMO_SOURCES:
        stored = _events(spec.key).count()
        assert stored > 0, spec.key
        expected = loaded.files[spec.key].rows if spec.via_file else loaded.sent[spec.key]
        assert stored == expected, spec.key
        source = sources[spec.key]
        assert (source.kind, source.party, source.priority) == (
            spec.kind,
            spec.party,
            spec.priority,
        )
    assert {s.party for s in sources.values()} == {"first", "second", "third"}
    assert not RejectedEvent.objects.exists()
    # The files really went through the import (not /v1/batch).
    assert FileImport.objects.filter(status=FileImport.Status.DONE).count() == 2
    written = sorted(p.name for p in (demo_var / "demo").glob("*.csv"))
    assert written == [
        f"partner-seed{SEED}-{CUSTOMERS}.csv",
        f"provider-seed{SEED}-{CUSTOMERS}.csv",
    ]
    # A journey: anonymous browsing, then checkouts, some of them abandoned.
    web = _events("website")
    assert web.filter(type="page", user_id__isnull=True).exists()
    carts = set(
        web.filter(event="Checkout Started").values_list("payload__properties__cart_id", flat=True)
    )
    ordered = set(
        web.filter(event="Order Completed").values_list(
            "payload__properties__checkout_id", flat=True
        )
    )
    assert ordered and carts - ordered  # bought, and abandoned


def _normal(email: str) -> str:
    return email.strip().lower()


def test_one_person_shows_up_with_overlapping_identifiers_across_sources(loaded):
    crm = defaultdict(set)
    for traits in _events("crm").filter(type="identify").values_list("payload__traits", flat=True):
        if traits.get("email"):
            crm[_normal(traits["email"])].add(traits["email"])
    web = _events("website").filter(type="identify", user_id__isnull=False)
    differently_typed = [
        (raw, crm[_normal(raw)])
        for raw in web.values_list("payload__traits__email", flat=True)
        if raw and _normal(raw) in crm and raw not in crm[_normal(raw)]
    ]
    assert differently_typed, "a CRM e-mail should reappear, typed differently, on the website"
    # The same login links a web anonymous id to the account id.
    assert web.filter(anonymous_id__isnull=False).exists()
    # A loyalty card known to the CRM is the userId of purchases at the tills.
    cards = {
        t["loyaltyCardId"]
        for t in _events("crm").values_list("payload__traits", flat=True)
        if t.get("loyaltyCardId")
    }
    till_cards = set(
        _events("pos").filter(event="Order Completed").values_list("user_id", flat=True)
    )
    assert cards & till_cards
    # ERP invoices refer to the orders the webshop and the tills completed.
    invoiced = set(_events("erp").values_list("payload__properties__order_id", flat=True))
    web_orders = set(
        _events("website")
        .filter(event="Order Completed")
        .values_list("payload__properties__order_id", flat=True)
    )
    assert web_orders & invoiced


def test_running_twice_stores_nothing_new(loaded, live_server, demo_var):
    before = Event.objects.count()
    sources = Source.objects.count()
    out = StringIO()
    call_command(
        "demo_data",
        customers=CUSTOMERS,
        seed=SEED,
        url=live_server.url,
        no_matching=True,  # tests/demo/test_demo_matching.py
        stdout=out,
    )
    assert Event.objects.count() == before
    assert Source.objects.count() == sources == len(DEMO_SOURCES)
    assert FileImport.objects.count() == 2  # the same files are not uploaded again
    text = out.getvalue()
    assert "0 new events stored" in text and "already loaded" in text
    assert (demo_var / "demo" / "loaded").exists()


def test_the_generator_is_deterministic_for_a_seed_and_streams():
    end = datetime(2026, 3, 1, tzinfo=UTC)
    first = [(i.channel, i.data) for i in World(seed=SEED, customers=30, end=end).items()]
    again = [(i.channel, i.data) for i in World(seed=SEED, customers=30, end=end).items()]
    other = [(i.channel, i.data) for i in World(seed=SEED + 1, customers=30, end=end).items()]
    assert first == again
    assert first != other
    assert isinstance(World(seed=SEED, customers=10**6, end=end).items(), types.GeneratorType)
    # A person does not depend on how many others there are.
    assert World(seed=SEED, customers=10, end=end).person(4) == World(
        seed=SEED, customers=1000, end=end
    ).person(4)
    # Everything lies in the year before ``end``; each message has its own id.
    stamps = [d["timestamp"] for c, d in first if "timestamp" in d]
    assert min(stamps) >= "2025-03-01" and max(stamps) < "2026-03-01"
    ids = [d["messageId"] for c, d in first if "messageId" in d]
    assert len(ids) == len(set(ids))
