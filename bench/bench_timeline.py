"""The customer timeline on a profile with 100,000 events.

Event ids start at 10^12 so that they never meet those of other benchmarks.

Figures: one page of ``profiles.selectors.timeline`` (events, merges, stage changes,
consent, notes and refused links merged newest first), at the top and 40 pages deep
through the cursor, and the whole Customer 360 page over HTTP (Django test client).
Baseline: the raw SQL that reads one page of the same profile's events along the same
index, in the same run.
"""

import os
import time

from django.db import connection
from django.test import Client
from django.utils import timezone

from bench.common import Row, percentile, progress
from cdp_site import services as site
from integrations import services as collect
from profiles import selectors
from profiles.models import IdentifierKind, Identity, Profile

EVENTS = int(os.environ.get("CDP_BENCH_TIMELINE_EVENTS", "100000"))
REPEAT = 50

FILL_EVENTS = """
INSERT INTO profiles_profileevent (event_id, received_at, profile_id, identity_id, source_id,
                                   type, name, "timestamp", properties)
SELECT 1000000000000 + n, now(), %(profile)s, %(identity)s, %(source)s, 'track',
       (ARRAY['Product Viewed', 'Order Completed', 'Page Viewed'])[1 + n %% 3],
       now() - make_interval(secs => n * 60), jsonb_build_object('n', n, 'sku', 'SKU-' || n %% 97)
FROM generate_series(%(start)s, %(stop)s) AS n
"""
FILL_OTHERS = """
INSERT INTO profiles_stagechange (profile_id, from_stage, to_stage, changed_at, reason)
SELECT %(profile)s, 'orientation', 'consideration', now() - make_interval(days => n), 'bench'
FROM generate_series(1, 200) AS n;
INSERT INTO profiles_note (profile_id, body, created_at)
SELECT %(profile)s, 'Called about order ' || n, now() - make_interval(hours => n * 7)
FROM generate_series(1, 300) AS n;
"""
RAW_PAGE = """
SELECT event_id, "timestamp", type, name, properties FROM profiles_profileevent
WHERE profile_id = %s ORDER BY "timestamp" DESC LIMIT 51
"""


def _build_profile():
    source = collect.create_source(name="Timeline bench", kind="website")
    profile = Profile.objects.create(display_name="Busy Customer", stage="retention")
    identity = Identity.objects.create(
        kind=IdentifierKind.objects.get(name="user_id"),
        value="busy-customer",
        profile=profile,
        source=source,
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    step = 10_000
    with connection.cursor() as cursor:
        for start in range(1, EVENTS + 1, step):
            stop = min(start + step - 1, EVENTS)
            params = {
                "profile": profile.pk,
                "identity": identity.pk,
                "source": source.pk,
                "start": start,
                "stop": stop,
            }
            cursor.execute(FILL_EVENTS, params)
            progress(stop, EVENTS, "timeline events")
        cursor.execute(FILL_OTHERS, {"profile": profile.pk})
        cursor.execute("ANALYZE profiles_profileevent")
    return profile


def _times(fn) -> list[float]:
    fn()
    found = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        found.append((time.perf_counter() - started) * 1000)
    return found


def run() -> list[Row]:
    profile = _build_profile()
    page = selectors.timeline(profile=profile, limit=50)
    for _ in range(40):
        page = selectors.timeline(profile=profile, before=page.next_cursor, limit=50)
    deep_cursor = page.next_cursor

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(RAW_PAGE, [profile.pk])
            cursor.fetchall()

    admin = site.create_user(email="bench-timeline@example.org", role="Admin").user
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)

    def whole_page():
        response = client.get(f"/profiles/{profile.pk}/")
        assert response.status_code == 200, response.status_code

    baseline = percentile(_times(raw), 50)
    first = _times(lambda: selectors.timeline(profile=profile, limit=50))
    deep = _times(lambda: selectors.timeline(profile=profile, before=deep_cursor, limit=50))
    html = _times(whole_page)
    label = f"{EVENTS:,} events"
    return [
        Row(
            f"timeline first page, p50 ({label})",
            percentile(first, 50),
            "ms",
            "raw SQL page of events, p50",
            baseline,
            "< 50 ms",
        ),
        Row(
            f"timeline 40 pages deep, p50 ({label})",
            percentile(deep, 50),
            "ms",
            "raw SQL page of events, p50",
            baseline,
            "< 50 ms",
        ),
        Row(
            f"Customer 360 page over HTTP, p99 ({label})",
            percentile(html, 99),
            "ms",
            "raw SQL page of events, p50",
            baseline,
            "< 300 ms",
        ),
    ]
