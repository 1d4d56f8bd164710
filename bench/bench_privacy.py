"""Exporting and erasing one person (issue 16): a customer with CDP_BENCH_PRIV_PERSON_EVENTS
(100,000) events among the CDP_BENCH_PRIV_EVENTS (10,000,000) events of
CDP_BENCH_PRIV_PROFILES (1,000,000) profiles (bench/segments_data.py, COPY).

- Export: the registry's loop (cdp_site.personal_data.export_subject) and the ZIP a data
  subject request downloads (profiles.privacy.archive.write: JSON and CSV per part and the
  summary page), next to a COPY of the same person's events TO STDOUT. Target <= 10 s.
- Erase: the registry's loop (erase_subject, every table in one transaction, committed),
  next to a plain DELETE of the same person's events in a transaction rolled back, timed
  just before in the same run. Target <= 5 s.
Checked after: nothing of the person is left, and the other profiles' events are all there.
"""

from __future__ import annotations

import os
import time

from django.db import connection

from bench import segments_data
from bench.common import Row, rolled_back
from cdp_site.personal_data import Subject, erase_subject, export_subject
from profiles.models import Identity, ProfileEvent
from profiles.privacy import archive

PROFILES = int(os.environ.get("CDP_BENCH_PRIV_PROFILES", "1000000"))
EVENTS = int(os.environ.get("CDP_BENCH_PRIV_EVENTS", "10000000"))
PERSON_EVENTS = int(os.environ.get("CDP_BENCH_PRIV_PERSON_EVENTS", "100000"))

# The person's own events: product views a second apart, after every other event id.
MORE_EVENTS = """
INSERT INTO profiles_profileevent (event_id, received_at, profile_id, identity_id, source_id,
    type, name, "timestamp", properties, context)
SELECT m.top + n, now() - n * interval '1 second', %(profile)s, %(identity)s, %(source)s,
       'track', 'Product Viewed', now() - n * interval '1 second',
       jsonb_build_object('product_id', 'p-' || (n %% 500), 'price', n %% 97), '{}'::jsonb
FROM generate_series(1, %(n)s) AS n,
     (SELECT coalesce(max(event_id), 0) AS top FROM profiles_profileevent) AS m
"""
COPY_PERSON = "COPY (SELECT * FROM profiles_profileevent WHERE profile_id = {pid}) TO STDOUT"
DELETE_PERSON = "DELETE FROM profiles_profileevent WHERE profile_id = %s"


def run() -> list[Row]:
    loaded = segments_data.load(profiles=PROFILES, events=EVENTS)
    person = loaded.first_profile
    subject = _person(person, source_id=loaded.source_id)
    others = ProfileEvent.objects.exclude(profile_id=person).count()
    label = f"{PERSON_EVENTS:,} of their events among {EVENTS + PERSON_EVENTS:,}"

    copy_s, copied = _copy_out(person)
    started = time.perf_counter()
    data = export_subject(subject)
    name = archive.write(data, subject)
    export_s = time.perf_counter() - started
    size = archive.path_of(name).stat().st_size
    archive.remove(name)
    print(f"  export: {len(data['events']):,} events, ZIP of {size / 1e6:.1f} MB", flush=True)

    delete_s = _delete_rolled_back(person)
    started = time.perf_counter()
    erased = erase_subject(subject)
    erase_s = time.perf_counter() - started
    print(f"  erased: {sum(erased.values()):,} rows in {len(erased)} parts", flush=True)
    _check(subject, person, others, copied)
    return [
        Row(
            figure=f"Export one person (registry loop + ZIP), {label}",
            value=export_s,
            unit="s",
            baseline="COPY of their events TO STDOUT",
            baseline_value=copy_s,
            target="<= 10 s",
        ),
        Row(
            figure=f"Erase one person (every registered table), {label}",
            value=erase_s,
            unit="s",
            baseline="DELETE of their events (rolled back)",
            baseline_value=delete_s,
            target="<= 5 s",
        ),
    ]


def _person(profile_id: int, *, source_id: int) -> Subject:
    identity = Identity.objects.filter(profile_id=profile_id).values_list("pk", flat=True)[0]
    with connection.cursor() as cursor:
        params = {"profile": profile_id, "identity": identity, "source": source_id}
        cursor.execute(MORE_EVENTS, {**params, "n": PERSON_EVENTS})
        cursor.execute("ANALYZE profiles_profileevent")
    identifiers = Identity.objects.filter(profile_id=profile_id).values_list("kind__name", "value")
    return Subject(profile_ids=(profile_id,), identifiers=tuple(identifiers))


def _copy_out(profile_id: int) -> tuple[float, int]:
    rows, started = 0, time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(COPY_PERSON.format(pid=int(profile_id))) as copy,
    ):
        for block in copy:
            rows += bytes(block).count(b"\n")
    return time.perf_counter() - started, rows


def _delete_rolled_back(profile_id: int) -> float:
    return rolled_back(DELETE_PERSON, [profile_id])


def _check(subject: Subject, person: int, others: int, copied: int) -> None:
    left = {part: len(rows) for part, rows in export_subject(subject).items() if rows}
    assert not left, f"the person is still in {left}"
    assert ProfileEvent.objects.count() == others, "another profile lost events"
    assert copied >= PERSON_EVENTS, copied
