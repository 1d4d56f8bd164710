"""Bad input from the issue: "a breakdown by a property with a million distinct values".
The journey view's breakdown by a trait and the attribution report by UTM campaign keep
the largest groups (breakdown.TOP, attribution TOP) and sum the rest as "other": 5,000
distinct values (enough to show the cap) answer a bounded table whose totals still add
up, on the page and through the API.

5,000 profiles, each with its own trait value, stage change and order (its own campaign),
are written by INSERT ... SELECT generate_series; three values are shared by 80 (trait)
or 100 (campaign) of them each, so the largest groups are known."""

import re
from datetime import date, datetime
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.utils import timezone

from insights.attribution import selectors as attribution
from insights.journey import breakdown
from insights.periods import Period
from profiles.models import StageChange
from tests.profiles.conftest import message, profile_of

pytestmark = pytest.mark.django_db
PEOPLE = 5_000
NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}
CROWD = """
WITH made AS (
    INSERT INTO profiles_profile (display_name, stage, stage_changed_at, traits, computed,
        consent, email_confirmed, first_seen_at, last_seen_at, created_at, updated_at)
    SELECT 'crowd ' || g, 'orientation', %(day)s::timestamptz + (g %% 20) * interval '1 day',
           jsonb_build_object(
               'plan', CASE WHEN g <= 240 THEN 'big-' || g %% 3 ELSE 'plan-' || g END),
           '{}', '{}', true, %(day)s::timestamptz, %(day)s::timestamptz, now(), now()
    FROM generate_series(1, %(people)s) g
    RETURNING id, stage_changed_at AS at, substr(display_name, 7)::int AS g
), moves AS (
    INSERT INTO profiles_stagechange (profile_id, from_stage, to_stage, changed_at, reason)
    SELECT id, '', 'orientation', at, '' FROM made
)
INSERT INTO profiles_profileevent
    (event_id, received_at, profile_id, identity_id, source_id, type, name, "timestamp",
     properties, context)
SELECT %(first_id)s + g, now(), id, %(identity)s, %(source)s, 'track', 'Order Completed', at,
       jsonb_build_object('revenue', 10, 'currency', 'EUR'),
       jsonb_build_object('campaign', jsonb_build_object('source', 'ads', 'medium', 'cpc',
           'name', CASE WHEN g <= 300 THEN 'big-' || g %% 3 ELSE 'c-' || g END))
FROM made
"""


@pytest.fixture
def crowd(web, send):
    send(web, message("page", userId="seed", properties={"path": "/"}))
    seed = profile_of("user_id", "seed")
    identity = seed.identities.first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(event_id) FROM profiles_profileevent")
        first_id = cursor.fetchone()[0] + 1_000
        cursor.execute(
            CROWD,
            {
                "day": datetime(2026, 11, 2, 12, tzinfo=timezone.get_current_timezone()),
                "people": PEOPLE,
                "first_id": first_id,
                "identity": identity.pk,
                "source": web.pk,
            },
        )
        cursor.execute("ANALYZE")


def november() -> Period:
    return Period(date(2026, 11, 1), date(2026, 11, 30), "week", timezone.get_current_timezone())


def test_a_trait_with_5000_values_breaks_the_journey_down_into_the_largest_and_other(crowd):
    found = breakdown.breakdown(november(), breakdown.Dimension("trait", "plan"))
    assert len(found.groups) == breakdown.TOP + 1 and found.groups[-1] == breakdown.OTHER
    assert found.groups[:3] == ["big-0", "big-1", "big-2"]
    assert [found.moves[g]["orientation"] for g in found.groups[:3]] == [80, 80, 80]
    period = november()
    moves = StageChange.objects.filter(changed_at__gte=period.start, changed_at__lt=period.end)
    assert sum(sum(m.values()) for m in found.moves.values()) == moves.count() >= PEOPLE


def test_the_journey_page_and_api_show_the_bounded_breakdown(crowd, client_as):
    query = urlencode({**NOVEMBER, "by": "trait", "trait": "plan"})
    client = client_as("Viewer")
    page = client.get(f"/insights/journey/?{query}")
    assert page.status_code == 200 and len(page.context["breakdown"].groups) == breakdown.TOP + 1
    assert len(set(re.findall(r"plan-\d+", page.content.decode()))) < breakdown.TOP
    body = client.get(f"/api/v1/insights/journey/?{query}").json()
    assert body["as_of"] and len(body["breakdown"]["groups"]) == breakdown.TOP + 1


def test_5000_campaigns_attribute_to_the_largest_and_other(crowd):
    found = attribution.attribute(november(), event="Order Completed", lookback=30, by="campaign")
    names = [c.name for c in found.channels]
    assert len(names) == attribution.TOP + 1 and names[-1] == attribution.OTHER
    assert names[:3] == ["big-0", "big-1", "big-2"]
    assert found.totals["EUR"].orders == PEOPLE
    for model in attribution.MODELS:  # nothing lost in "other": every order credited once
        assert sum(c.orders(model) for c in found.channels) == PEOPLE
    assert found.channels[0].orders("last") == 100


def test_the_attribution_page_and_api_show_the_bounded_table(crowd, client_as):
    query = urlencode({**NOVEMBER, "by": "campaign"})
    client = client_as("Viewer")
    page = client.get(f"/insights/attribution/?{query}")
    assert page.status_code == 200 and "too long" not in page.content.decode()
    assert len(set(re.findall(r"\bc-\d+", page.content.decode()))) < attribution.TOP
    body = client.get(f"/api/v1/insights/attribution/?{query}").json()
    assert len(body["channels"]) == attribution.TOP + 1 and body["channels"][-1]["other"]
    assert body["totals"]["EUR"]["orders"] == PEOPLE
