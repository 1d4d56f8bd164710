"""The HubSpot CRM connector against a local imitation of HubSpot's CRM API (its search,
its v4 associations, its tokens, scopes and limits), run slice by slice as the task does."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cdp_site.permissions import ADMIN
from demo.imitations import hubspot as hubspot_api
from integrations import processing
from integrations.connectors import services, sync
from integrations.connectors.models import StreamState, SyncRun
from integrations.models import Event, RejectedEvent
from profiles import defaults
from profiles.models import IdentifierKind, Identity, ProfileEvent, SourceIdentity

pytestmark = pytest.mark.django_db

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)


@pytest.fixture
def hub():
    imitation = hubspot_api.start(token=TOKEN)
    yield imitation
    imitation.stop()


def add_contacts(hub, count: int, *, first: int = 100) -> None:
    for n in range(count):
        hubspot_api.put(
            hub,
            "contacts",
            first + n,
            modified=T0 + timedelta(minutes=n),
            email=f"person{first + n}@example.com",
            firstname="Ada",
            lastname=f"Person{first + n}",
            lifecyclestage="lead",
        )


def connect(hub, *streams: str, **config) -> "services.Connection":
    return services.create_connection(
        name="HubSpot",
        kind="hubspot",
        base_url=hub.url,
        config=config,
        secrets={"access_token": TOKEN},
        streams={name: {"enabled": True} for name in streams or ("contacts",)},
    )


def drive(run: SyncRun, *, max_slices: int = 100) -> tuple[list[sync.Next], list[str]]:
    """Runs the slices of ``run`` until it ends: the steps it asked for and each note."""
    seq, steps, notes = 0, [], []
    for _ in range(max_slices):
        step = sync.run_slice(run_id=run.id, seq=seq)
        steps.append(step)
        run.refresh_from_db()
        notes.append(run.note)
        if step.seq is None:
            return steps, notes
        seq = step.seq
    raise AssertionError("the run did not end")


def searches(hub, object_type: str = "contacts") -> list[dict]:
    path = f"/crm/v3/objects/{object_type}/search"
    return [r.json() for r in hub.requests if r.path == path]


def since_of(body: dict) -> int:
    return int(body["filterGroups"][0]["filters"][0]["value"])


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def test_contacts_are_read_in_pages_sorted_by_their_last_change(hub):
    add_contacts(hub, 250)
    run = services.start_run(connection=connect(hub))
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.pages, run.stored, run.rejected) == (3, 250, 0)
    # Each page starts at the newest change the last one held (read again, stored once).
    assert (run.records_read, run.duplicates) == (252, 2)
    asked = searches(hub)
    assert [since_of(body) for body in asked] == [
        0,
        millis(T0 + timedelta(minutes=99)),
        millis(T0 + timedelta(minutes=198)),
    ]
    assert [body.get("after") for body in asked] == [None, None, None]
    assert {body["limit"] for body in asked} == {100}
    assert asked[0]["filterGroups"][0]["filters"][0] == {
        "propertyName": "lastmodifieddate",
        "operator": "GTE",
        "value": "0",
    }
    assert asked[0]["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert {r.headers["authorization"] for r in hub.requests} == {f"Bearer {TOKEN}"}
    event = Event.objects.get(user_id="107")
    assert event.type == "identify"
    assert event.payload["traits"]["email"] == "person107@example.com"
    assert event.payload["traits"]["lifecycleStage"] == "lead"
    assert event.timestamp == T0 + timedelta(minutes=7)  # the record's own last change


def test_each_page_says_how_many_contacts_remain_and_the_run_page_an_eta(hub, client_as):
    add_contacts(hub, 250)
    connection = connect(hub)
    run = services.start_run(connection=connection)
    assert sync.run_slice(run_id=run.id, seq=0).seq == 1
    run.refresh_from_db()
    assert run.remaining == 150  # the search's total, less the page read
    admin = client_as(ADMIN)
    live = admin.get(f"/integrations/connections/{connection.pk}/", HTTP_HX_REQUEST="true")
    eta = re.search(r'id="run-eta">ETA ([^<]*)<', live.content.decode())
    assert eta and re.fullmatch(r"(less than a minute|about \d+ min) left \(150 to read\)", eta[1])
    answer = admin.get(f"/api/v1/connections/{connection.pk}/runs/{run.pk}").json()
    assert answer["remaining"] == 150 and answer["eta_seconds"] >= 0
    # The next search starts at the moved bound: its total says again what is left.
    assert sync.run_slice(run_id=run.id, seq=1).seq == 2
    run.refresh_from_db()
    assert run.remaining == 51  # contacts 99 … 249, the first read again, less 100
    assert sync.run_slice(run_id=run.id, seq=2).seq is None  # the last page
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED and run.remaining is None


def test_the_source_of_a_hubspot_connection_takes_crm_ids_as_user_ids(hub):
    connection = connect(hub)
    setting = SourceIdentity.objects.get(source=connection.source)
    assert setting.user_id_kind.name == "crm_id"


def test_an_installation_without_crm_ids_still_connects_hubspot(hub):
    defaults.ensure_installed()
    IdentifierKind.objects.filter(name="crm_id").delete()
    connection = connect(hub)
    assert not SourceIdentity.objects.filter(source=connection.source).exists()


def test_an_updated_contact_is_read_again_from_the_moved_lower_bound(hub):
    add_contacts(hub, 150)
    connection = connect(hub)
    drive(services.start_run(connection=connection))
    newest = T0 + timedelta(minutes=149)
    assert StreamState.objects.get(connection=connection).cursor == {"since": millis(newest)}
    changed = newest + timedelta(hours=2)
    hubspot_api.put(hub, "contacts", 107, modified=changed, email="ada@newjob.example.com")
    run = services.start_run(connection=connection)
    drive(run)
    assert since_of(searches(hub)[-1]) == millis(newest)
    # The contact changed and the one at the bound itself (inclusive) are read; only the
    # change is stored.
    assert (run.records_read, run.stored, run.duplicates) == (2, 1, 1)
    latest = Event.objects.filter(user_id="107").order_by("-timestamp").first()
    assert latest.payload["traits"]["email"] == "ada@newjob.example.com"
    assert StreamState.objects.get(connection=connection).cursor == {"since": millis(changed)}


def test_a_backlog_longer_than_the_search_cap_is_read_by_moving_the_lower_bound(hub):
    hub.state["cap"] = 250  # HubSpot's is 10,000 results a query
    add_contacts(hub, 600)
    run = services.start_run(connection=connect(hub))
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert Event.objects.count() == 600
    assert Event.objects.values("user_id").distinct().count() == 600
    asked = searches(hub)
    bounds = [since_of(body) for body in asked]
    assert bounds == sorted(set(bounds)) and len(bounds) == run.pages
    assert all(body.get("after") is None for body in asked)
    cursor = StreamState.objects.get(connection=run.connection).cursor
    assert cursor == {"since": millis(T0 + timedelta(minutes=599))}


def add_at(hub, instant: datetime, ids: range) -> None:
    for n in ids:
        hubspot_api.put(hub, "contacts", n, modified=instant, email=f"p{n}@example.com")


def test_contacts_changed_at_the_same_instant_are_paged_through_it(hub):
    hub.state["cap"] = 250
    add_at(hub, T0, range(1000, 1150))  # a bulk import: 150 changes in one millisecond
    add_at(hub, T0 + timedelta(hours=1), range(2000, 2150))
    add_contacts(hub, 100)
    run = services.start_run(connection=connect(hub))
    _, notes = drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert Event.objects.count() == Event.objects.values("user_id").distinct().count() == 400
    within = [body for body in searches(hub) if body.get("after")]
    assert {(since_of(body), body["after"]) for body in within} == {
        (millis(T0), "100"),
        (millis(T0 + timedelta(hours=1)), "100"),
    }
    assert any("changed up to" in note for note in notes)


def test_more_changes_at_one_instant_than_the_search_cap_are_skipped_with_a_note(hub):
    hub.state["cap"] = 250
    add_at(hub, T0 - timedelta(hours=1), range(1000, 1300))
    add_contacts(hub, 10)
    run = services.start_run(connection=connect(hub))
    _, notes = drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert any("so 50 of them were skipped" in note for note in notes)
    assert Event.objects.filter(user_id__startswith="1").count() == 250 + 10
    assert all(int(body.get("after") or 0) < 250 for body in searches(hub))
    # The contacts changed after that instant are read: the stream did not stop at it.
    assert Event.objects.filter(user_id="109").exists()


def test_the_lower_bound_stays_behind_changes_too_recent_for_the_search_index(hub):
    add_contacts(hub, 5)
    just_now = datetime.now(UTC) - timedelta(seconds=10)
    hubspot_api.put(hub, "contacts", 555, modified=just_now, email="new@example.com")
    connection = connect(hub)
    drive(services.start_run(connection=connection))
    since = StreamState.objects.get(connection=connection).cursor["since"]
    assert millis(T0 + timedelta(minutes=4)) <= since <= millis(just_now - timedelta(minutes=1))
    assert Event.objects.filter(user_id="555").exists()
    # The next run asks again from there and finds the recent change (stored once).
    again = services.start_run(connection=connection)
    drive(again)
    assert since_of(searches(hub)[-1]) == since
    assert (again.stored, again.duplicates) == (0, 1)


def test_a_secondly_limit_waits_for_retry_after_then_goes_on(hub):
    add_contacts(hub, 150)
    run = services.start_run(connection=connect(hub))
    hub.fail_next(429, headers={"Retry-After": "3"}, body=hubspot_api.SECONDLY_LIMIT)
    first = sync.run_slice(run_id=run.id, seq=0)
    assert first == sync.Next(seq=1, delay=3)
    run.refresh_from_db()
    assert "429, SECONDLY" in run.note and run.retries == 0
    seq = first.seq
    while seq is not None:
        seq = sync.run_slice(run_id=run.id, seq=seq).seq
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED and run.stored == 150


def test_a_secondly_limit_without_retry_after_waits_a_second_not_the_default(hub):
    add_contacts(hub, 10)
    run = services.start_run(connection=connect(hub))
    hub.fail_next(429, body=hubspot_api.SECONDLY_LIMIT)
    assert sync.run_slice(run_id=run.id, seq=0) == sync.Next(seq=1, delay=1)


def test_the_daily_limit_waits_until_midnight_in_the_account_time_zone(hub):
    add_contacts(hub, 10)
    hub.state["daily_limit"] = 0
    run = services.start_run(connection=connect(hub, time_zone="Asia/Tokyo"))
    step = sync.run_slice(run_id=run.id, seq=0)
    run.refresh_from_db()
    assert step.seq == 1 and step.delay > 60
    assert run.status == SyncRun.Status.RUNNING and run.stored == 0
    assert "daily API limit" in run.note and "Asia/Tokyo" in run.note
    tokyo = run.waiting_until.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (tokyo.hour, tokyo.minute) in ((0, 0), (0, 1))
    assert run.waiting_until - datetime.now(UTC) <= timedelta(days=1, minutes=2)


def test_a_revoked_token_fails_the_run_with_a_message_to_act_on(hub):
    add_contacts(hub, 10)
    run = services.start_run(connection=connect(hub))
    hub.state["token"] = "pat-na1-rotated"
    drive(run)
    assert run.status == SyncRun.Status.FAILED
    assert "HubSpot refused the access token (401)" in run.error
    assert Event.objects.count() == 0


def test_a_stream_whose_scope_is_missing_fails_the_run_naming_the_scope(hub):
    add_contacts(hub, 10)
    hub.state["scopes"] = {"crm.objects.contacts.read"}
    run = services.start_run(connection=connect(hub, "contacts", "deals"))
    drive(run)
    assert run.status == SyncRun.Status.FAILED
    assert "lacks the scopes this needs (403): crm.objects.deals.read" in run.error
    assert run.stored == 10  # the contacts read before are kept


def test_a_500_is_retried_and_the_run_completes(hub):
    add_contacts(hub, 150)
    run = services.start_run(connection=connect(hub))
    hub.fail_next(500, times=2)
    steps, _ = drive(run)
    assert [step.delay > 0 for step in steps[:2]] == [True, True]
    assert run.status == SyncRun.Status.SUCCEEDED and run.stored == 150


def test_a_contact_without_an_id_is_rejected_with_its_reason_and_the_rest_stored(hub):
    add_contacts(hub, 20)
    broken = hubspot_api.put(hub, "contacts", 999, modified=T0, email="noid@example.com")
    del broken["id"]
    hubspot_api.put_raw(hub, "contacts", "999", broken)
    run = services.start_run(connection=connect(hub))
    drive(run)
    assert (run.status, run.stored, run.rejected) == (SyncRun.Status.SUCCEEDED, 20, 1)
    assert run.errors[0]["reason"] == "The record has no primary key ($.id)."
    assert "noid@example.com" in run.errors[0]["record"]
    assert RejectedEvent.objects.get().code == "connector_record"


def drain() -> None:
    while processing.process_inbox_batch():
        pass


def profile_of(crm_id: str):
    return Identity.objects.get(kind__name="crm_id", value=crm_id).profile


def test_companies_become_group_calls_that_link_each_contact_to_its_company(hub):
    add_contacts(hub, 3)
    hubspot_api.put(hub, "companies", 1, modified=T0, name="Acme", domain="acme.example")
    hubspot_api.put(hub, "companies", 2, modified=T0, name="Globex", domain="globex.example")
    hubspot_api.put(hub, "companies", 3, modified=T0, name="Nobody Inc")
    for contact, company in ((100, 1), (101, 1), (102, 2)):
        hubspot_api.associate(hub, "contacts", contact, "companies", company)
    run = services.start_run(connection=connect(hub, "contacts", "companies"))
    _, notes = drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED
    groups = Event.objects.filter(type="group")
    pairs = {(e.user_id, e.payload["groupId"]) for e in groups}
    assert pairs == {("100", "1"), ("101", "1"), ("102", "2")}
    assert {e.payload["traits"]["name"] for e in groups if e.payload["groupId"] == "1"} == {"Acme"}
    assert "1 of the companies had no associated contact" in notes[-1]
    batch = [r for r in hub.requests if r.path.startswith("/crm/v4/associations/")]
    assert [r.path for r in batch] == ["/crm/v4/associations/companies/contacts/batch/read"]
    assert sorted(i["id"] for i in batch[0].json()["inputs"]) == ["1", "2", "3"]
    drain()
    # Each contact is one profile (its CRM id), and its company's group call is on it.
    for contact, company in (("100", "1"), ("101", "1"), ("102", "2")):
        profile = profile_of(contact)
        linked = ProfileEvent.objects.filter(profile=profile, type="group")
        ids = {Event.objects.get(id=e.event_id).payload["groupId"] for e in linked}
        assert ids == {company}
        assert profile.traits.get("email") == f"person{contact}@example.com"


def associations(hub) -> list[dict]:
    """The bodies of the association batch reads, in order."""
    return [r.json() for r in hub.requests if r.path.startswith("/crm/v4/associations/")]


def test_a_company_with_more_contacts_than_one_association_page_links_every_one(hub):
    hub.state["association_page"] = 50  # HubSpot's is larger; the paging is the same
    hubspot_api.put(hub, "companies", 1, modified=T0, name="Acme")
    hubspot_api.put(hub, "companies", 2, modified=T0, name="Globex")
    for contact in range(1000, 1120):
        hubspot_api.associate(hub, "contacts", contact, "companies", 1)
    hubspot_api.associate(hub, "contacts", 7, "companies", 2)
    run = services.start_run(connection=connect(hub, "companies"))
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED and run.pages == 1
    groups = Event.objects.filter(type="group", payload__groupId="1")
    assert sorted(int(e.user_id) for e in groups) == list(range(1000, 1120))
    assert Event.objects.filter(type="group", payload__groupId="2").get().user_id == "7"
    # Both companies in the first call; then only Acme, from where its last page ended.
    asked = [body["inputs"] for body in associations(hub)]
    assert [sorted(i["id"] for i in inputs) for inputs in asked] == [["1", "2"], ["1"], ["1"]]
    assert "after" not in asked[0][0] and asked[1][0]["after"] != asked[2][0]["after"]


def test_associations_past_a_slice_s_calls_go_on_in_the_next_slice(hub):
    from integrations.connectors.kinds.hubspot import associations as hubspot

    hub.state["association_page"] = 5
    hubspot_api.put(hub, "companies", 1, modified=T0, name="Acme")
    contacts = range(2000, 2000 + 5 * hubspot.ASSOCIATION_CALLS + 12)
    for contact in contacts:
        hubspot_api.associate(hub, "contacts", contact, "companies", 1)
    run = services.start_run(connection=connect(hub, "companies"))
    _, notes = drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED and run.pages == 2
    assert "have more associated contacts than one slice reads" in notes[0]
    groups = Event.objects.filter(type="group", payload__groupId="1")
    assert sorted(int(e.user_id) for e in groups) == list(contacts)
    assert len(associations(hub)) == hubspot.ASSOCIATION_CALLS + 3
    state = StreamState.objects.get(connection=run.connection, stream="companies")
    assert set(state.cursor) == {"since"}


def test_a_small_request_budget_reads_fewer_associations_a_slice(hub):
    hub.state["association_page"] = 5
    hubspot_api.put(hub, "companies", 1, modified=T0, name="Acme")
    for contact in range(3000, 3030):  # six association pages
        hubspot_api.associate(hub, "contacts", contact, "companies", 1)
    connection = connect(hub, "companies")
    connection.request_budget = 12  # a quarter of it: three batch reads a slice
    connection.save(update_fields=["request_budget"])
    run = services.start_run(connection=connection)
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED and run.pages == 2
    assert run.requests == 1 + 6  # the search, then the six pages over two slices
    assert Event.objects.filter(type="group", payload__groupId="1").count() == 30


def test_deals_become_deal_updated_calls_of_their_contacts(hub):
    add_contacts(hub, 2)
    hubspot_api.put(
        hub,
        "deals",
        7001,
        modified=T0 + timedelta(days=1),
        dealname="Fleet renewal",
        amount="1500.00",
        dealstage="closedwon",
        closedate="2026-03-02T00:00:00.000Z",
    )
    hubspot_api.put(hub, "deals", 7002, modified=T0, dealname="Orphan", amount="10")
    hubspot_api.associate(hub, "deals", 7001, "contacts", 100)
    hubspot_api.associate(hub, "deals", 7001, "contacts", 101)
    run = services.start_run(connection=connect(hub, "deals"))
    _, notes = drive(run)
    deals = Event.objects.filter(type="track", event="Deal Updated")
    assert sorted(deals.values_list("user_id", flat=True)) == ["100", "101"]
    properties = deals.first().payload["properties"]
    assert properties["dealId"] == "7001" and properties["amount"] == "1500.00"
    assert properties["stage"] == "closedwon" and properties["dealName"] == "Fleet renewal"
    assert deals.first().timestamp == T0 + timedelta(days=1)
    assert "1 of the deals had no associated contact" in notes[-1]
    search = searches(hub, "deals")[0]
    assert search["filterGroups"][0]["filters"][0]["propertyName"] == "hs_lastmodifieddate"


def test_test_connection_names_the_scopes_the_token_lacks(hub):
    connection = connect(hub)
    assert services.test_connection(connection=connection).ok
    assert searches(hub)[0]["limit"] == 1
    hub.state["scopes"] = {"crm.objects.contacts.read"}
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "permission")
    assert "crm.objects.companies.read, crm.objects.deals.read" in result.message
    services.update_connection(connection=connection, config={"time_zone": "Mars/Olympus"})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "config")
    assert "Mars/Olympus" in result.message
    services.update_connection(connection=connection, config={"time_zone": "Europe/Paris"})
    hub.state["token"] = "pat-na1-revoked"
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "auth")
    assert "401" in result.message


def test_a_contact_changed_while_a_pass_reads_makes_no_other_contact_be_missed(hub):
    # A change moves a contact to the end of HubSpot's sorted results: with an offset
    # alone, every contact after it would move up one place and one would be skipped.
    add_contacts(hub, 250)
    run = services.start_run(connection=connect(hub))
    first = sync.run_slice(run_id=run.id, seq=0)
    hubspot_api.put(hub, "contacts", 105, modified=T0 + timedelta(days=1), email="x@example.com")
    seq = first.seq
    while seq is not None:
        seq = sync.run_slice(run_id=run.id, seq=seq).seq
    assert set(Event.objects.values_list("user_id", flat=True)) == {
        str(100 + n) for n in range(250)
    }
    assert Event.objects.filter(user_id="105").count() == 2  # before and after its change
