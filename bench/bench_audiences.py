"""Audience sync (issue 18): a segment's members uploaded to an ad platform's audience,
and how soon a membership change reaches it.

The platform is the local Meta Custom Audiences imitation (tests/support/ad_platforms.py),
a threaded HTTP server in this process; the sync runs here too (``sync.run_sync``, what
the beat task calls), through the product's one outgoing client.

1. Full upload: CDP_BENCH_AUDIENCE_MEMBERS people (default 100,000), each with an e-mail,
   a phone and an advertising consent, members of one segment (written with SQL, as the
   segments' evaluator leaves them). Figure: seconds from "sync created" to every member
   in the imitation's audience (plan, hash, 10 requests of 10,000 rows in one Meta
   session, record). Target: <= 15 s at 100,000. Baseline: the same batches (already
   hashed and encoded) posted with plain ``http.client`` to the same imitation in the
   same run: what the wire and the imitation cost alone.
2. Latency: one person leaves the segment (their membership row deleted and the exit
   written, as the evaluator does), then the beat task's work runs (``sync.run_due``).
   Figure: p50 and p95 over CDP_BENCH_AUDIENCE_CHANGES changes (default 20) of the time
   from the change's commit to the imitation receiving the DELETE. Beat starts that work
   every 5 s, so a change waits up to 5 s more before it starts. Baseline: one plain
   ``http.client`` DELETE of one row.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.utils import timezone

from bench.common import Row, percentile
from campaigns.audiences import services, sync
from integrations.destinations import services as destinations
from integrations.destinations.audiences import hash_member
from segments import services as segments
from segments.models import Membership, MembershipChange
from tests.support import ad_platforms

MEMBERS = int(os.environ.get("CDP_BENCH_AUDIENCE_MEMBERS", "100000"))
CHANGES = int(os.environ.get("CDP_BENCH_AUDIENCE_CHANGES", "20"))
AUDIENCE = "23850000000000001"
FIRST_ID = 7_000_000_000
BATCH = 10_000

PROFILES = """
INSERT INTO profiles_profile (id, display_name, stage, traits, computed, consent,
                              created_at, updated_at)
SELECT id, '', '',
       jsonb_build_object('email', 'p' || id || '@example.org',
                          'phone', '+3161' || lpad((id %% 10000000)::text, 7, '0'),
                          'tier', 'gold'),
       '{}', '{"advertising": {"status": "granted"}}', now(), now()
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS id
"""
MEMBERSHIPS = """
INSERT INTO segments_membership (segment_id, profile_id, entered_at)
SELECT %(segment)s, id, now() FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS id
"""


def run() -> list[Row]:
    print(f"  {MEMBERS:,} members, {CHANGES} membership changes", flush=True)
    platform = ad_platforms.meta(audiences=(AUDIENCE,))
    try:
        segment = _people()
        meta = destinations.create_destination(
            name="Meta (imitation)",
            kind="meta_custom_audience",
            config={"api_base": f"{platform.url}v25.0"},
            secrets={"access_token": "meta-token"},
        )
        upload, made = _full_upload(platform, segment, meta)
        raw = _raw_posts(platform)
        latencies, one = _latency(platform, made, segment)
    finally:
        platform.stop()
    return [
        Row(
            f"audience full upload, {MEMBERS:,} members (s)",
            upload,
            "s",
            "same batches, plain HTTP",
            raw,
            target="<= 15 s at 100,000",
        ),
        Row("membership change to platform p50 (ms)", percentile(latencies, 50), "ms",
            "one plain HTTP DELETE", one),
        Row("membership change to platform p95 (ms)", percentile(latencies, 95), "ms",
            "one plain HTTP DELETE", one, target="< 60 s with beat's 5 s"),
    ]  # fmt: skip


def _people():
    segment = segments.create_segment(name="Bench gold", rule=ad_platforms.GOLD_RULE)
    bounds = {"first": FIRST_ID, "last": FIRST_ID + MEMBERS - 1, "segment": segment.pk}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PROFILES, bounds)
        cursor.execute(MEMBERSHIPS, bounds)
        cursor.execute("ANALYZE profiles_profile; ANALYZE segments_membership")
    return segment


def _full_upload(platform, segment, meta) -> tuple[float, object]:
    started = time.perf_counter()
    made = services.create_sync(
        name="Bench", segment=segment, destination=meta, audience_id=AUDIENCE
    )
    sync.run_sync(sync_id=made.pk)
    took = time.perf_counter() - started
    held = len(platform.state["audiences"][AUDIENCE])
    if held != MEMBERS:
        raise RuntimeError(f"the audience holds {held:,} rows, not {MEMBERS:,}")
    print(f"  full upload: {took:.2f} s, {len(platform.requests)} requests", flush=True)
    return took, made


def _raw_posts(platform) -> float:
    """The same batches, hashed and encoded before the clock starts, posted with plain
    http.client (one connection a request, as the product's client does)."""
    rows = [
        list(hash_member(f"p{i}@example.org", f"+3161{i % 10_000_000:07d}"))
        for i in range(FIRST_ID, FIRST_ID + MEMBERS)
    ]
    bodies = [
        json.dumps(
            {"payload": {"schema": ["EMAIL_SHA256", "PHONE_SHA256"], "data": chunk}}
        ).encode()
        for chunk in (rows[n : n + BATCH] for n in range(0, len(rows), BATCH))
    ]
    started = time.perf_counter()
    for body in bodies:
        _plain(platform, "POST", body)
    return time.perf_counter() - started


def _plain(platform, method: str, body: bytes) -> None:
    target = urlsplit(platform.url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    conn.request(
        method,
        f"/v25.0/{AUDIENCE}/users",
        body=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer meta-token"},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"plain post answered {response.status}")


def _latency(platform, made, segment) -> tuple[list[float], float]:
    sync.run_due()  # the cursors start at the record's end
    latencies = []
    for n in range(CHANGES):
        profile_id = FIRST_ID + n
        before = len(platform.requests)
        started = time.perf_counter()
        with transaction.atomic():
            Membership.objects.filter(segment=segment, profile_id=profile_id).delete()
            MembershipChange.objects.create(
                segment=segment, profile_id=profile_id, change="exited", at=timezone.now()
            )
        sync.run_due()
        if len(platform.requests) <= before or platform.requests[-1].method != "DELETE":
            raise RuntimeError("the exit did not reach the platform")
        latencies.append((time.perf_counter() - started) * 1000)
    # The baseline removes a member still in the audience, as the sync's DELETE did.
    i = FIRST_ID + CHANGES
    row = list(hash_member(f"p{i}@example.org", f"+3161{i % 10_000_000:07d}"))
    body = json.dumps(
        {"payload": {"schema": ["EMAIL_SHA256", "PHONE_SHA256"], "data": [row]}}
    ).encode()
    started = time.perf_counter()
    _plain(platform, "DELETE", body)
    one = (time.perf_counter() - started) * 1000
    print(f"  latency p50 {percentile(latencies, 50):.0f} ms", flush=True)
    return latencies, one
