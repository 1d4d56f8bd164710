import pytest

from cdp_site import services
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def marketer(transactional_db):
    return services.create_user(email="mia@example.org", role="Marketer", password=PASSWORD).user


def test_marketer_logs_in_and_sees_the_dashboard_shell(page, log_in, live_server, marketer):
    log_in("mia@example.org", PASSWORD)

    assert page.url == f"{live_server.url}/"
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    # The home page is insights' dashboard: its tiles and data health, drawn without script.
    assert page.get_by_role("heading", name="People per stage").is_visible()
    assert page.get_by_role("heading", name="Data health").is_visible()
    nav = page.get_by_role("navigation", name="Main")
    labels = [link.inner_text() for link in nav.get_by_role("link").all()]
    assert labels == ["Dashboard", "Profiles", "Segments", "Campaigns", "Insights", "Settings"]
    assert page.get_by_text("Marketer", exact=True).is_visible()


def test_wrong_password_shows_an_error_and_stays_on_login(page, log_in, marketer):
    log_in("mia@example.org", "not-the-password")

    assert "/accounts/login/" in page.url
    assert page.get_by_text("not correct").is_visible()


def test_insights_draws_a_plotly_chart_served_without_a_cdn(
    page, log_in, live_server, marketer, off_site
):
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/insights/")

    page.wait_for_selector(".chart .main-svg")
    assert off_site() == []


def test_navigation_fits_a_phone_screen(browser, live_server, marketer):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("mia@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state("networkidle")

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the page scrolls sideways on a phone"
    context.close()
