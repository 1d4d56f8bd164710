import pytest

from cdp_site import services
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_under_our_csp_and_fetch_nothing_from_outside(page, log_in, live_server):
    services.create_user(email="ada@example.org", role="Admin", password=PASSWORD)
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    log_in("ada@example.org", PASSWORD)

    page.goto(f"{live_server.url}/api/docs/")

    page.get_by_text("CDP API").first.wait_for()
    assert page.get_by_text("/api/v1/me").first.is_visible()
    page.get_by_text("API docs by Redocly").wait_for()
    page.wait_for_load_state("networkidle")
    outside = [u for u in requests if not u.startswith((live_server.url, "blob:", "data:"))]
    assert outside == []  # Redoc's logo from its CDN among them, before
    assert errors == []  # the CSP's refusal of that logo, before
    assert page.locator("html").get_attribute("lang") == "en"
