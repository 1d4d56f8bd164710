"""Two real Celery workers resolving the same people at the same moment.

The backlog interleaves a few people at a time, so that consecutive small batches (which
the two workers claim side by side with SKIP LOCKED) carry events of the same people:
page views on three devices, the logins that link the devices, a CRM record and the
e-mail that links it to the webshop account. Whatever the interleaving, each person
must end in exactly one active profile holding all their identifiers, and every event
must be resolved exactly once.
"""

import os
import random

import pytest
from django.conf import settings
from django.db import connection

from cdp_site.celery import app as celery_app
from cdp_site.redis_client import client as redis_client
from integrations import services
from integrations.models import Event, EventInbox
from integrations.services import TRIGGER_KEY
from integrations.tasks import MAX_BATCHES_PER_TASK, process_event_batch
from profiles.models import Identity, Merge, Profile, ProfileEvent, UnresolvedEvent
from tests.support.processes import start_celery_worker, stop_process, wait_until
from tests.support.signing import signed

from .conftest import message

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PEOPLE = 36
GROUP = 3  # people whose events are shuffled together
DEVICES = 3
BATCH = 4
# Inside each batch's transaction: keeps both workers' batches open at the same time.
DELAY = "0.02"


def person_events(p: int) -> list[tuple[str, dict]]:
    """One person's messages as (source key, message), in their natural order."""
    user, crm_id, email = f"u{p}", f"C{p}", f"person{p}@example.org"
    anons = [f"a{p}-{d}" for d in range(DEVICES)]
    events = []
    for d, anon in enumerate(anons):
        events.append(("web", message("page", minutes=d, anonymousId=anon, name="Home")))
        events.append(("web", message(minutes=d, anonymousId=anon, event="Product Viewed")))
    events.append(
        (
            "crm",
            message(
                "identify", minutes=5, userId=crm_id, traits={"email": email, "lastName": f"L{p}"}
            ),
        )
    )
    for d, anon in enumerate(anons):
        events.append(("web", message("identify", minutes=10 + d, anonymousId=anon, userId=user)))
    events.append(
        (
            "web",
            message(
                "identify", minutes=20, userId=user, traits={"email": email, "firstName": f"F{p}"}
            ),
        )
    )
    events.append(("web", message(minutes=21, userId=user, event="Order Completed")))
    return events


def identifiers_of(p: int) -> set[str]:
    return {f"user_id:u{p}", f"crm_id:C{p}", f"email:person{p}@example.org"} | {
        f"anonymous_id:a{p}-{d}" for d in range(DEVICES)
    }


def backlog() -> list[tuple[int, str, dict]]:
    rng = random.Random(4)
    found = []
    for start in range(0, PEOPLE, GROUP):
        group = [(p, event) for p in range(start, start + GROUP) for event in person_events(p)]
        rng.shuffle(group)
        found.extend((p, source, msg) for p, (source, msg) in group)
    return found


def _open_batches() -> int:
    """Other sessions inside a transaction right now: the workers' batches."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND xact_start IS NOT NULL "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_two_workers_on_the_same_people_make_one_profile_each_and_lose_nothing(web, crm, tmp_path):
    sources = {"web": web, "crm": crm}
    redis_client().set(TRIGGER_KEY, "1", ex=600)  # keep ingestion from queueing its own task
    events = backlog()
    for _, source, msg in events:  # one by one: the inbox keeps the interleaving
        signed_msg = signed(sources[source], msg)
        assert (
            services.ingest_messages(source_id=sources[source].id, messages=signed_msg).stored == 1
        )
    message_person = {msg["messageId"]: p for p, _, msg in events}
    deadlocks_before = _deadlocks()

    celery_app.control.purge()  # tasks other tests left queued would use their own limits
    # Enough tasks that both workers keep claiming until the inbox is empty (a task hands
    # over after MAX_BATCHES_PER_TASK batches).
    for _ in range(2 * (len(events) // (BATCH * MAX_BATCHES_PER_TASK) + 2)):
        process_event_batch.delay(limit=BATCH)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [
        start_celery_worker(
            broker_url=settings.CELERY_BROKER_URL,
            name=f"resolve-{i}-{os.getpid()}",
            extra_env={"CDP_TEST_PROCESSING_DELAY": DELAY},
            log=log.open("wb"),
            pool="solo",
        )
        for i, log in enumerate(logs)
    ]
    most_open = 0

    def drained() -> bool:
        nonlocal most_open
        most_open = max(most_open, _open_batches())
        return not EventInbox.objects.exists() and (
            ProfileEvent.objects.count() + UnresolvedEvent.objects.count() >= len(events)
        )

    try:
        wait_until(drained, timeout=180, interval=0.02, what="both workers to drain the backlog")
    finally:
        for worker in workers:
            stop_process(worker)
    worker_logs = "\n".join(log.read_text(errors="replace") for log in logs)

    # Every event resolved exactly once, to its own person.
    assert not UnresolvedEvent.objects.exists()
    # The events table is not flushed between tests (it is unmanaged): only ours count.
    ours = Event.objects.filter(source_id__in=[web.id, crm.id])
    message_ids = dict(ours.values_list("id", "message_id"))
    owners = list(ProfileEvent.objects.values_list("event_id", "profile_id"))
    assert sorted(e for e, _ in owners) == sorted(message_ids)
    # No duplicate profiles, no lost identifier: each person's identifiers all point at
    # one active profile, and that profile holds nothing else.
    by_profile: dict[int, set[str]] = {}
    for pid, kind, value in Identity.objects.values_list("profile_id", "kind__name", "value"):
        by_profile.setdefault(pid, set()).add(f"{kind}:{value}")
    active = set(Profile.objects.filter(merged_into__isnull=True).values_list("pk", flat=True))
    assert set(by_profile) <= active, "a merged-away profile still holds identities"
    person_profile = {}
    for p in range(PEOPLE):
        (pid,) = [pid for pid, idents in by_profile.items() if idents & identifiers_of(p)]
        assert by_profile[pid] == identifiers_of(p)
        person_profile[p] = pid
    assert len(active) == PEOPLE
    for event_id, pid in owners:
        assert pid == person_profile[message_person[message_ids[event_id]]]
    for p, pid in person_profile.items():
        traits = Profile.objects.get(pk=pid).traits
        assert (traits["firstName"], traits["lastName"]) == (f"F{p}", f"L{p}")
    # At least the two batches; a worker's other task (a segment or campaign pass that the
    # batch's changes queued) may hold a transaction at the same moment too.
    assert most_open >= 2, "the two workers never held a batch at the same time"
    assert Merge.objects.exists()  # devices resolved apart, then linked
    assert _deadlocks() == deadlocks_before, worker_logs[-3000:]
    assert "Traceback" not in worker_logs, worker_logs[-3000:]
