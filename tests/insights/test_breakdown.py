"""The journey view broken down by country, by any trait and by a segment: the moves of
the period per group, the largest groups kept and the rest summed as other."""

from collections import Counter
from datetime import date

import pytest
from django.utils import timezone

from insights.journey import breakdown
from insights.periods import Period
from profiles.models import StageChange
from segments.static_lists import create_static_segment_of
from tests.profiles.conftest import message, profile_of

pytestmark = pytest.mark.django_db
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "week", timezone.get_current_timezone())


@pytest.fixture
def shoppers(web, send):
    """Twelve people in twelve countries (two spellings of NL), each with a plan."""
    countries = ["NL", "nl ", "DE", "BE", "FR", "GB", "US", "ES", "IT", "SE", "PL", "DK"]
    for n, country in enumerate(countries):
        traits = {"country": country, "plan": "gold" if n % 3 == 0 else "basic"}
        send(web, message("identify", userId=f"s{n}", traits=traits, minutes=n))
        send(web, message(userId=f"s{n}", event="Product Viewed", minutes=60 + n))
        if n < 4:
            send(web, message(userId=f"s{n}", event="Order Completed", minutes=120 + n))


def moves_by(trait: str) -> Counter:
    """From scratch: moves of the period per (trait value, stage)."""
    found = Counter()
    for change in StageChange.objects.select_related("profile"):
        found[(change.profile.traits.get(trait, ""), change.to_stage)] += 1
    return found


def test_a_trait_breakdown_counts_each_groups_moves(shoppers):
    found = breakdown.breakdown(NOVEMBER, breakdown.Dimension("trait", trait="plan"))
    expected = moves_by("plan")
    assert found.groups == ["basic", "gold"]
    for group in found.groups:
        assert {s: n for s, n in found.moves[group].items() if n} == {
            stage: n for (g, stage), n in expected.items() if g == group
        }


def test_countries_are_folded_and_past_the_largest_eight_summed_as_other(shoppers):
    found = breakdown.breakdown(NOVEMBER, breakdown.Dimension("country"))
    assert found.groups[0] == "NL" and found.moves["NL"]["retention"] == 2
    assert len(found.groups) == 9 and found.groups[-1] == "other"
    total = sum(sum(stages.values()) for stages in found.moves.values())
    assert total == StageChange.objects.count()


def test_a_segment_breakdown_splits_members_from_the_rest(shoppers):
    members = [profile_of("user_id", f"s{n}").pk for n in range(4)]
    segment = create_static_segment_of(name="Buyers", profile_ids=members, reason="test")
    found = breakdown.breakdown(NOVEMBER, breakdown.Dimension("segment", segment_id=segment.pk))
    assert found.moves["in"]["retention"] == 4 and found.moves["not in"]["retention"] == 0
    assert found.moves["not in"]["consideration"] == 8


def test_the_page_and_the_api_show_the_breakdown(shoppers, marketer_client):
    query = "start=2026-11-01&end=2026-11-30&by=trait&trait=plan"
    page = marketer_client.get(f"/insights/journey/?{query}").content.decode()
    assert "Moves by trait plan" in page and 'data-chart="breakdown-chart"' in page
    body = marketer_client.get(f"/api/v1/insights/journey/?{query}").json()
    assert body["breakdown"]["groups"] == ["basic", "gold"]
    assert body["breakdown"]["moves"]["gold"]["retention"] == 2


@pytest.mark.parametrize(
    "query, field",
    [
        ("by=trait", "trait"),
        ("by=trait&trait=plan';drop table x", "trait"),
        ("by=segment", "segment"),
        ("by=segment&segment=999999", "segment"),
        ("by=city", "by"),
    ],
)
def test_a_bad_breakdown_is_a_400_naming_the_field(marketer_client, query, field):
    assert marketer_client.get(f"/insights/journey/?{query}").status_code == 400
    api = marketer_client.get(f"/api/v1/insights/journey/?{query}")
    assert api.status_code == 400 and field in str(api.json())
