import pytest

from cdp_site import services
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_under_our_csp_and_fetch_nothing_from_outside(page, log_in, live_server):
    services.create_user(email="ada@example.org", role="Admin", password=PASSWORD)
    responses = []
    # Redoc tries to show its logo from its CDN; our CSP blocks it, so no response comes.
    page.on("response", lambda response: responses.append(response.url))
    log_in("ada@example.org", PASSWORD)

    page.goto(f"{live_server.url}/api/docs/")

    page.get_by_text("CDP API").first.wait_for()
    assert page.get_by_text("/api/v1/me").first.is_visible()
    outside = [u for u in responses if not u.startswith((live_server.url, "blob:", "data:"))]
    assert outside == []
