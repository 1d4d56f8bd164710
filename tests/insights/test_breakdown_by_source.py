"""The journey view broken down by where people came from: the source (and its party) of
the event that caused each move, and the person's first-touch channel."""

from datetime import date

import pytest
from django.utils import timezone

from insights.journey import breakdown
from insights.periods import Period
from integrations import services
from integrations.models import Source
from profiles import stage_history
from profiles.models import StageChange
from tests.profiles.conftest import message, profile_of

pytestmark = pytest.mark.django_db
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "week", timezone.get_current_timezone())


@pytest.fixture
def partner(db):
    return services.create_source(
        name="Partner shop", kind=Source.Kind.SERVER, party=Source.Party.SECOND, priority=80
    )


@pytest.fixture
def arrivals(web, partner, send):
    """g1, g2 arrive from Google ads, d1 directly, all on the website (first party); g1
    and d1 then view a product at the partner's shop (second party)."""
    url = "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=winter"
    for n, user in enumerate(("g1", "g2")):
        send(web, message("page", userId=user, minutes=n, properties={"url": url, "path": "/"}))
    send(web, message("page", userId="d1", minutes=3, properties={"path": "/"}))
    send(partner, message(userId="g1", event="Product Viewed", minutes=60))
    send(partner, message(userId="d1", event="Product Viewed", minutes=61))


def moves(found, group) -> dict:
    return {stage: n for stage, n in found.moves[group].items() if n}


def test_moves_by_the_source_of_the_event_that_caused_them(arrivals):
    found = breakdown.breakdown(NOVEMBER, breakdown.Dimension("source"))

    assert moves(found, "Webshop") == {"orientation": 3}
    assert moves(found, "Partner shop") == {"consideration": 2}


def test_moves_by_party_and_the_same_after_the_history_is_replayed(arrivals):
    live = breakdown.breakdown(NOVEMBER, breakdown.Dimension("party"))
    assert moves(live, "first-party") == {"orientation": 3}
    assert moves(live, "second-party") == {"consideration": 2}

    # The replayed history names each move's event: the same answer from it.
    profile_ids = list(StageChange.objects.values_list("profile_id", flat=True).distinct())
    stage_history.rewrite(sorted(profile_ids))
    assert StageChange.objects.filter(event_id__isnull=False).exists()
    replayed = breakdown.breakdown(NOVEMBER, breakdown.Dimension("party"))
    assert replayed.moves == live.moves


@pytest.mark.parametrize(
    "touch, group", [("source", "google"), ("medium", "cpc"), ("campaign", "winter")]
)
def test_moves_by_first_touch_channel(arrivals, touch, group):
    found = breakdown.breakdown(NOVEMBER, breakdown.Dimension("first_touch", touch=touch))

    assert moves(found, group) == {"orientation": 2, "consideration": 1}
    direct = "(direct)" if touch == "source" else "(none)"
    assert moves(found, direct) == {"orientation": 1, "consideration": 1}
    assert profile_of("user_id", "g2").computed[f"first_touch_{touch}"] == group


def test_the_page_and_the_api_break_down_by_first_touch(arrivals, marketer_client):
    query = "start=2026-11-01&end=2026-11-30&by=first_touch&touch=medium"
    page = marketer_client.get(f"/insights/journey/?{query}").content.decode()
    assert "Moves by first-touch medium" in page
    body = marketer_client.get(f"/api/v1/insights/journey/?{query}").json()
    assert body["breakdown"]["moves"]["cpc"]["orientation"] == 2


@pytest.mark.parametrize("query", ["by=first_touch&touch=referrer", "by=source&touch=<b>"])
def test_a_bad_touch_is_a_400(marketer_client, query):
    api = marketer_client.get(f"/api/v1/insights/journey/?{query}")
    assert api.status_code == 400 and "touch" in str(api.json())
