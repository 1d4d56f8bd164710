"""Insights: the dashboard (the home page) at the scale of the insights benchmark.

Runs after bench_insights' load (its profiles, events and stage history), and adds what
the dashboard reads that the generator does not make: 7 days of per-minute event
statistics for five sources (as processing keeps them), 50 segments with a size sample
every hour for 8 days, and 5 running campaigns with 12,000 messages sent each and 3,000
conversions.

Figure: the whole page rendered (Django's test client, no network), p50 / p95 of
CDP_BENCH_INS_DASHBOARD_REPEAT renders (20), against counting the active profiles per
stage (one scan of the profiles table) in the same run. Target: p95 <= 300 ms. The
revenue tile is kept a minute in the cache (as in production, where it is read at most
once a minute); its cold read, and every tile's, is printed beside the figure.
"""

from __future__ import annotations

import os
import time

from django.db import connection
from django.test import Client
from django.utils import timezone

from bench.common import Row, latency_rows, percentile, timed_runs
from cdp_site import services as site_services
from insights.dashboard import selectors
from integrations import services as collect

REPEAT = int(os.environ.get("CDP_BENCH_INS_DASHBOARD_REPEAT", "20"))
PER_STAGE = "SELECT stage, count(*) FROM profiles_profile WHERE merged_into_id IS NULL GROUP BY 1"

MINUTE_STATS = """
INSERT INTO integrations_sourceminutestats (source_id, minute, count)
SELECT s.id, m, 50 + (random() * 200)::int
FROM integrations_source s,
     generate_series(date_trunc('minute', now()) - interval '7 days', now(), interval '1 minute') m
ON CONFLICT (source_id, minute) DO NOTHING
"""
SEGMENTS = """
WITH s AS (
    INSERT INTO segments_segment (name, description, kind, rule, depends_on, event_names,
        slides, created_at, updated_at, member_count, computed_at, compute_error)
    SELECT 'Bench segment ' || g, '', 'dynamic', '{}', '[]', '[]', false, now(), now(),
           1000 * g, now(), ''
    FROM generate_series(1, 50) g RETURNING id, member_count
)
INSERT INTO segments_sizesample (segment_id, at, size)
SELECT s.id, now() - make_interval(hours => h), greatest(0, s.member_count - h * (s.id % 7))
FROM s, generate_series(1, 8 * 24) h
"""
CAMPAIGNS = """
WITH c AS (
    INSERT INTO campaigns_campaign (name, description, kind, status, trigger_event, entry,
        goal_event, conversion_window_days, steps, gallery_key, created_at, updated_at)
    SELECT 'Bench campaign ' || g, '', 'event', 'active', 'Signed In', 'once',
           'Order Completed', 7, '[]', '', now(), now()
    FROM generate_series(1, 5) g RETURNING id
), d AS (
    INSERT INTO campaigns_delivery (idempotency_key, campaign_id, profile_id, step_id, variant,
        channel, status, reason, attempts, counts_toward_cap, created_at, sent_at)
    SELECT 'bench-' || c.id || '-' || g, c.id, g, 's1', '', 'email', 'sent', '', 1, true,
           now(), now()
    FROM c, generate_series(1, 12000) g
)
INSERT INTO campaigns_enrollment (campaign_id, profile_id, state, step_id, waiting_for,
    variant, holdout, context, entered_at, converted_at, exit_reason, attempts, last_error)
SELECT c.id, g, 'converted', '', '', '', false, '{}', now(), now(), '', 0, ''
FROM c, generate_series(1, 3000) g
"""


def rows(label: str) -> list[Row]:
    _load()
    baseline = [s * 1000 for s in timed_runs(_per_stage, repeat=REPEAT)]
    _print_tiles()
    client = Client(HTTP_HOST="localhost")
    client.force_login(
        site_services.create_user(email="bench-dashboard@example.org", role="Viewer").user
    )
    assert client.get("/").status_code == 200
    page = [s * 1000 for s in timed_runs(lambda: client.get("/"), repeat=REPEAT)]
    return latency_rows(
        f"dashboard page (HTML, all tiles), {label}",
        page,
        tail=95,
        baseline="count of active profiles per stage",
        baseline_ms=baseline,
        target="<= 300 ms",
    )


def _load() -> None:
    for n in range(4):
        collect.create_source(name=f"Dashboard bench source {n}", kind="server")
    with connection.cursor() as cursor:
        for sql in (MINUTE_STATS, SEGMENTS, CAMPAIGNS):
            cursor.execute(sql)
        cursor.execute(
            "ANALYZE integrations_sourceminutestats, segments_sizesample, campaigns_delivery,"
            " campaigns_enrollment"
        )


def _per_stage() -> None:
    with connection.cursor() as cursor:
        cursor.execute(PER_STAGE)
        cursor.fetchall()


def _print_tiles() -> None:
    """Where the page's time goes: p50 of each tile read cold (the revenue not kept)."""
    w = selectors.Window(now=timezone.now(), zone=timezone.get_current_timezone())
    reads = {**selectors.TILES, "revenue": selectors._revenue}
    for key, read in reads.items():
        ms = []
        for _ in range(5):
            started = time.perf_counter()
            read(w)
            ms.append((time.perf_counter() - started) * 1000)
        print(f"  dashboard tile {key}: p50 {percentile(ms, 50):,.1f} ms", flush=True)
