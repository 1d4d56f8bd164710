"""A field whose type changes from one page to the next, end to end: the generic REST
connector against its local imitation, the run, then processing into profiles.

What the platform does, each record on its own (never a failed run, never a lost page):
a value of another type than the trait's is stored with its event, kept on the profile
as a conflict (shown, never the current value), or converted when it can be ("32" for a
number); an identifier or a time of the wrong shape rejects its record with the reason;
and the changed-since cursor stays in the form the service first gave."""

import pytest

from cdp_site.permissions import ADMIN
from demo.imitations import rest as rest_api
from integrations import processing
from integrations.connectors import records, services
from integrations.connectors.models import StreamState, SyncRun
from integrations.models import Event
from profiles.identifiers import load_rules
from profiles.models import Identity, TraitValue
from tests.support.connectors import drive

from . import test_connector_sync

pytestmark = pytest.mark.django_db

RULES = "userId = $.id\ntraits.email = $.email\ntraits.age = $.age\ntraits.city = $.city"


def customer(n: int, **fields) -> dict:
    updated = f"2026-03-01T10:00:{n:02d}Z"
    return {"id": f"c{n}", "email": f"p{n}@example.com", "updated_at": updated, **fields}


def connect(api):
    connection = test_connector_sync.connect(api, page_size=5)
    rules = f"{RULES}\ntimestamp = $.updated_at"
    return services.update_connection(connection=connection, streams={"records": {"rules": rules}})


@pytest.fixture
def api():
    first = [customer(n, age=31, city="Paris") for n in range(5)]
    second = [customer(n, age="thirty-one", city={"name": "Paris"}) for n in range(5, 10)]
    third = [
        customer(10, age="32"),  # text a number can be read from
        customer(11, id={"crm": 11}),  # an object where the identifier was text
        customer(12, id=12),  # a number where it was text
        customer(13, updated_at={"at": "2026-03-01T10:00:13Z"}),  # an object for a time
        customer(14),
    ]
    imitation = rest_api.start(records=first + second + third, token="t0ken")
    yield imitation
    imitation.stop()


def profile_of(user_id: str):
    return Identity.objects.get(kind__name="user_id", value=user_id).profile


def test_each_record_gets_its_own_outcome_and_the_run_reads_every_page(api, client_as):
    load_rules()
    run = services.start_run(connection=connect(api))
    drive(run)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.records_read, run.stored, run.rejected) == (15, 13, 2)
    refused = {e["reason"]: e["record"] for e in run.errors}
    assert set(refused) == {"userId must be a string.", "timestamp must be an ISO-8601 string."}
    assert '"userId": {"crm": 11}' in refused["userId must be a string."]
    assert '"userId": "c13"' in refused["timestamp must be an ISO-8601 string."]
    stored = set(Event.objects.values_list("user_id", flat=True))
    assert stored == {f"c{n}" for n in (*range(11), 14)} | {"12"}

    while processing.process_inbox_batch():
        pass
    # The first page set the traits' types; later values of another type are kept as
    # conflicts, beside their events, and never become the current value.
    assert profile_of("c0").traits == {"email": "p0@example.com", "age": 31, "city": "Paris"}
    changed = profile_of("c5")
    assert changed.traits == {"email": "p5@example.com"}
    conflicts = TraitValue.objects.filter(profile=changed, conflict=True)
    assert {(v.key, str(v.value)) for v in conflicts} == {
        ("age", "thirty-one"),
        ("city", "{'name': 'Paris'}"),
    }
    assert profile_of("c10").traits["age"] == 32
    assert profile_of("12").traits["email"] == "p12@example.com"
    page = client_as(ADMIN).get(f"/profiles/{changed.pk}/").content.decode()
    assert "thirty-one" in page and "conflict: wrong type" in page


def test_an_updated_at_that_turns_into_a_number_keeps_the_cursor_in_its_first_form(api):
    api.records[:] = [customer(n) for n in range(5)] + [
        customer(5),
        customer(6, updated_at=1772359320),  # 2026-03-01T10:02:00Z, as Unix seconds
    ]
    connection = connect(api)
    drive(services.start_run(connection=connection))
    state = StreamState.objects.get(connection=connection)
    assert state.cursor == {"since": "2026-03-01T10:02:00Z"}
    again = services.start_run(connection=connection)
    drive(again)
    assert again.status == SyncRun.Status.SUCCEEDED
    assert api.requests[-1].query["updated_since"] == "2026-03-01T10:02:00Z"


@pytest.mark.parametrize(
    ("seen", "values", "cursor"),
    [
        (None, ["2026-03-01T10:00:00Z", "2026-03-01T09:00:00Z"], "2026-03-01T10:00:00Z"),
        ("2026-03-01T10:00:00Z", [1772359320], "2026-03-01T10:02:00Z"),
        ("2026-03-01T10:00:00+00:00", [1772359320000], "2026-03-01T10:02:00+00:00"),
        (1772359200, ["2026-03-01T10:02:00Z"], 1772359320),
        (1772359200000, [1772359320], 1772359320000),
        (None, [1772359320, "2026-03-01T10:03:00Z"], 1772359380),  # the page's first form
        ("2026-03-01T10:00:00Z", ["not a time", {"at": 1}], "2026-03-01T10:00:00Z"),
        (None, ["2026-03-01T12:00:00+02:00"], "2026-03-01T12:00:00+02:00"),  # as written
    ],
)
def test_the_changed_since_cursor_keeps_the_form_the_stream_first_gave(seen, values, cursor):
    assert records.newest(values, seen) == cursor
