"""The account's time zone: an admin sets it on the settings page (a name zoneinfo does not
know is refused with a message, other roles may not change it), and every report's days
begin at its midnight: the same events fall on another day in Pacific/Auckland than in
UTC."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cdp_site import services
from cdp_site.selectors import account_time_zone_name
from insights.lifecycle.forms import LifecycleForm
from insights.retention.forms import RetentionForm
from tests.profiles.conftest import message

pytestmark = pytest.mark.django_db
AUCKLAND = "Pacific/Auckland"  # UTC+13 in November (daylight saving time)


@pytest.fixture
def late_sunday(web, send):
    """One person, active on Sunday 8 November at 20:00 UTC: Monday 9 November, 09:00, in
    Auckland (another day, and another week)."""
    send(
        web,
        message("page", userId="kiwi", minutes=0, properties={"path": "/"}),
        message(userId="kiwi", event="Order Completed", minutes=7 * 24 * 60 + 8 * 60),
    )


def test_an_admin_sets_the_time_zone_on_the_settings_page(client_as):
    client = client_as("Admin")
    response = client.post("/settings/time-zone/", {"time_zone": AUCKLAND}, follow=True)
    assert response.status_code == 200 and account_time_zone_name() == AUCKLAND
    page = response.content.decode()
    assert f'data-testid="account-time-zone">{AUCKLAND}<' in page
    assert f"Reports now count days in {AUCKLAND}." in page


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "utc ", "+13:00", "'; DROP TABLE x; --"])
def test_a_name_that_is_no_time_zone_is_refused_with_a_message(client_as, name):
    response = client_as("Admin").post("/settings/time-zone/", {"time_zone": name})
    assert response.status_code == 400 and account_time_zone_name() == "UTC"
    assert "is not a time zone: give an IANA name" in response.content.decode()
    with pytest.raises(ValidationError, match="not a time zone"):
        services.set_time_zone(name=name)


@pytest.mark.parametrize("role", ["Viewer", "Marketer", "Account manager"])
def test_only_admins_may_change_it(client_as, role):
    client = client_as(role)
    assert client.post("/settings/time-zone/", {"time_zone": AUCKLAND}).status_code == 403
    assert account_time_zone_name() == "UTC"
    page = client.get("/settings/").content.decode()
    assert 'data-testid="account-time-zone">UTC<' in page and "An admin chooses it." in page
    assert 'name="time_zone"' not in page


def test_every_reports_period_uses_the_accounts_zone(db):
    services.set_time_zone(name=AUCKLAND)
    for form in (LifecycleForm({}), RetentionForm({"returning_event": "x"})):
        assert form.is_valid(), form.errors
        assert str(form.period().zone) == AUCKLAND


def test_a_day_boundary_differs_between_utc_and_auckland(late_sunday, client_as):
    client = client_as("Viewer")
    query = "start=2026-11-02&end=2026-11-15&granularity=day&event=Order+Completed"

    def ordering_day():
        body = client.get(f"/api/v1/insights/lifecycle/?{query}").json()
        (day,) = [b for b, n in zip(body["buckets"], body["new"], strict=True) if n]
        return body["time_zone"], day

    assert ordering_day() == ("UTC", "2026-11-08")
    services.set_time_zone(name=AUCKLAND)
    assert ordering_day() == (AUCKLAND, "2026-11-09")


def test_the_retention_cohorts_move_to_the_accounts_weeks(late_sunday, client_as):
    """First seen on Sunday 1 November at noon UTC: in the week of 26 October in UTC, in
    the week of 2 November in Auckland (Monday 2 November, 01:00)."""
    client = client_as("Viewer")
    query = "start=2026-10-26&end=2026-11-15&returning_event=Order+Completed"

    def cohorts():
        body = client.get(f"/api/v1/insights/retention/?{query}").json()
        return {c: n for c, n in zip(body["cohorts"], body["sizes"], strict=True) if n}

    assert cohorts() == {"2026-10-26": 1}
    services.set_time_zone(name=AUCKLAND)
    assert cohorts() == {"2026-11-02": 1}


def test_the_report_page_says_which_zone(late_sunday, client_as):
    services.set_time_zone(name=AUCKLAND)
    page = client_as("Viewer").get("/insights/lifecycle/?start=2026-11-02&end=2026-11-15")
    assert f'data-testid="time-zone">{AUCKLAND}<' in page.content.decode()
    assert page.context["period"].last_day == date(2026, 11, 15)


@pytest.mark.parametrize(
    "page",
    [
        "/insights/lifecycle/?start=2026-11-01&end=2026-11-15",
        "/insights/retention/?start=2026-10-26&end=2026-11-15&returning_event=Order+Completed",
        "/insights/paths/?start=2026-11-01&end=2026-11-15&event=Order+Completed&direction=previous",
        "/insights/funnels/?start=2026-11-01&end=2026-11-15&event_1=Order+Completed&event_2=x",
    ],
)
def test_every_report_page_says_which_zone(late_sunday, client_as, page):
    services.set_time_zone(name=AUCKLAND)
    response = client_as("Viewer").get(page)
    assert response.status_code == 200
    assert f'data-testid="time-zone">{AUCKLAND}<' in response.content.decode()


def test_the_dashboard_counts_days_in_the_accounts_zone(client_as):
    client = client_as("Viewer")
    assert client.get("/api/v1/insights/dashboard/").json()["time_zone"] == "UTC"
    services.set_time_zone(name=AUCKLAND)
    body = client.get("/api/v1/insights/dashboard/").json()
    assert body["time_zone"] == AUCKLAND


def test_today_is_the_accounts_today(db):
    """A period's default last day is today where the account is: at any hour, one of
    these two zones is on another date than UTC."""
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14, UTC-11
        services.set_time_zone(name=name)
        form = LifecycleForm({})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["end"] == timezone.localdate(timezone=ZoneInfo(name))


@pytest.mark.parametrize(
    "api",
    [
        "lifecycle/?start=2026-11-01&end=2026-11-15",
        "retention/?start=2026-10-26&end=2026-11-15&returning_event=Order+Completed",
        "paths/?start=2026-11-01&end=2026-11-15&event=Order+Completed",
        "funnel/?start=2026-11-01&end=2026-11-15&event_1=Order+Completed&event_2=x",
    ],
)
def test_every_report_api_says_which_zone(late_sunday, client_as, api):
    services.set_time_zone(name=AUCKLAND)
    body = client_as("Viewer").get(f"/api/v1/insights/{api}").json()
    assert body["time_zone"] == AUCKLAND and body["as_of"]
