"""Privacy requests against bad input and bad timing, on the real database with workers in
threads (each its own connection): two erasures of one person at once (one erases, the
other finds no data), an erasure while the person's events are being processed (nothing
of theirs remains and no profile comes back), a request naming a profile merged into
another (the whole person), an identifier that matches nobody (suppressed anyway, and
what already waits in the inbox with it goes too)."""

import threading
import time

import pytest

from integrations import processing
from integrations import services as collect
from integrations.models import Event, EventInbox, Source
from integrations.suppression import services as suppression
from profiles.models import Identity, PrivacyRequest, Profile, ProfileEvent
from profiles.privacy import services
from profiles.privacy.selectors import PROFILE_ID
from tests.profiles.conftest import drain, message, profile_of, send, web  # noqa: F401
from tests.support.signing import signed
from tests.support.threads import in_background, side_by_side

pytestmark = pytest.mark.django_db(transaction=True)

Status = PrivacyRequest.Status


def _ours(model):
    """The rows of this test's sources: the raw events table is partitioned (created by
    RunSQL), so a transactional test's flush leaves earlier tests' events in it."""
    return model.objects.filter(source_id__in=Source.objects.values("pk"))


@pytest.fixture(autouse=True)
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def manager(make_user):
    return make_user("Account manager")


@pytest.fixture
def ann(send, web):  # noqa: F811
    send(web, message(anonymousId="anon-ann", event="Product Viewed"))
    send(web, message("identify", userId="ann", anonymousId="anon-ann", minutes=1))
    send(web, message("identify", userId="ann", traits={"email": "ann@example.org"}, minutes=2))
    return profile_of("user_id", "ann")


def _request(manager, kind="erasure", identifier_kind="email", value="ann@example.org"):
    return services.create_request(
        kind=kind,
        identifier_kind=identifier_kind,
        identifier_value=value,
        verification="email",
        requested_by=manager,
    )


@pytest.fixture
def slow_suppression():
    """Holds every erasure open for a while after it has deleted the person and written
    the suppressions (not yet committed); ``started`` is set when one gets there."""
    started = threading.Event()

    def slow(values, request_id):
        started.set()
        time.sleep(1.5)

    services.register_suppressor(slow)
    yield started
    services.SUPPRESSORS.remove(slow)


def _nothing_of_ann_remains():
    values = ["ann", "anon-ann", "ann@example.org"]
    assert not Identity.objects.filter(value__in=values).exists()
    assert not Profile.objects.exists() and not ProfileEvent.objects.exists()
    assert not _ours(Event).exists() and not _ours(EventInbox).exists()
    assert suppression.suppressed_among(values) == set(values)


def test_two_erasures_of_one_person_at_once_one_erases_the_other_finds_no_data(
    ann, manager, slow_suppression
):
    requests = [
        _request(manager),
        _request(manager, identifier_kind="user_id", value="ann"),
    ]
    profiles = Profile.objects.count()
    side_by_side(lambda n: services.run_request(request_id=requests[n].pk, actor_id=manager.pk))
    done = {r.pk: r for r in PrivacyRequest.objects.all()}
    assert sorted(r.status for r in done.values()) == [Status.COMPLETED, Status.NO_DATA]
    assert all(r.error == "" and r.identifier_value == "" for r in done.values())
    (erased,) = [r for r in done.values() if r.status == Status.COMPLETED]
    assert erased.counts["profiles"] == profiles and erased.counts["events"] == 3
    _nothing_of_ann_remains()


def test_events_processed_during_an_erasure_bring_nobody_back(
    ann,
    web,  # noqa: F811
    manager,
    slow_suppression,
):
    request = _request(manager)
    erasing = in_background(
        lambda: services.run_request(request_id=request.pk, actor_id=manager.pk)
    )
    assert slow_suppression.wait(10)
    # The erasure has deleted Ann but not committed: the door lets her messages in, and a
    # worker processes them while the erasure still runs.
    late = [
        message("identify", userId="ann", traits={"email": "ann@example.org"}, minutes=5),
        message(userId="ann", event="Checkout Started", minutes=6),
        message(anonymousId="anon-ann", event="Product Viewed", minutes=7),
    ]
    stored = collect.ingest_messages(source_id=web.id, messages=signed(web, *late))
    assert stored.stored == 3
    drain()
    erasing.join(30)
    assert PrivacyRequest.objects.get().status == Status.COMPLETED
    _nothing_of_ann_remains()


def test_events_in_a_batch_claimed_before_the_erasure_are_dropped_after_it(
    ann,
    web,  # noqa: F811
    manager,
    monkeypatch,
):
    # A batch has claimed Ann's new messages and is still working (its claim holds their
    # inbox rows) when the erasure runs: the erasure does not wait for it, and the batch,
    # once the erasure committed, finds her suppressed and drops them.
    late = [message(userId="ann", event="Checkout Started", minutes=6)]
    collect.ingest_messages(source_id=web.id, messages=signed(web, *late))
    monkeypatch.setenv("CDP_TEST_PROCESSING_DELAY", "1.5")
    processing_thread = in_background(processing.process_inbox_batch)
    time.sleep(0.5)  # the batch has claimed and sleeps in its first step
    request = _request(manager)
    services.run_request(request_id=request.pk, actor_id=manager.pk)
    processing_thread.join(30)
    monkeypatch.delenv("CDP_TEST_PROCESSING_DELAY")
    drain()
    assert PrivacyRequest.objects.get().status == Status.COMPLETED
    _nothing_of_ann_remains()


def test_a_request_for_a_profile_merged_since_it_was_made_covers_the_whole_person(
    send,  # noqa: F811
    web,  # noqa: F811
    manager,
):
    send(web, message(anonymousId="anon-bo", event="Product Viewed"))
    send(web, message("identify", userId="bo", traits={"email": "bo@example.org"}))
    people = [profile_of("anonymous_id", "anon-bo"), profile_of("user_id", "bo")]
    requests = {
        p.pk: _request(manager, identifier_kind=PROFILE_ID, value=str(p.pk)) for p in people
    }
    send(web, message("identify", userId="bo", anonymousId="anon-bo", minutes=1))
    merged = Profile.objects.get(merged_into__isnull=False)
    request = requests[merged.pk]
    services.run_request(request_id=request.pk, actor_id=manager.pk)
    done = PrivacyRequest.objects.get(pk=request.pk)
    assert done.status == Status.COMPLETED and done.counts["profiles"] == 2
    assert not Profile.objects.exists() and not Identity.objects.exists()
    assert suppression.suppressed_among(["bo", "anon-bo", "bo@example.org"]) == {
        "bo",
        "anon-bo",
        "bo@example.org",
    }


def test_an_identifier_matching_nobody_is_suppressed_anyway_with_what_waits_for_it(
    send,  # noqa: F811
    web,  # noqa: F811
    manager,
):
    waiting = message("identify", userId="ghost-1", traits={"email": "ghost@example.org"})
    send(web, waiting, process=False)  # stored, not yet processed: nobody is known
    ghost = _request(manager, identifier_kind="user_id", value="ghost-1")
    services.run_request(request_id=ghost.pk, actor_id=manager.pk)
    done = PrivacyRequest.objects.get(pk=ghost.pk)
    assert done.status == Status.COMPLETED and done.profile_ids == []
    assert done.counts["raw_events"] == 1
    drain()
    assert not Profile.objects.exists() and not _ours(Event).exists()
    assert suppression.suppressed_among(["ghost-1"]) == {"ghost-1"}
    nobody = _request(manager, identifier_kind=PROFILE_ID, value="987654")
    services.run_request(request_id=nobody.pk, actor_id=manager.pk)
    assert PrivacyRequest.objects.get(pk=nobody.pk).status == Status.NO_DATA
