"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright, against the live server."""

import os
import shutil

import pytest

from tests.support.ad_platforms import google_api, meta_api  # noqa: F401 (audience fixtures)

CHROMIUM = os.environ.get("CDP_CHROMIUM", "/usr/bin/chromium")
# Flags that keep Chromium from reaching for the network outside this machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install it with: "
            "sudo apt-get update && sudo apt-get install -y chromium"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def off_site(page, live_server):
    """What ``page`` has asked for so far outside the live server, as a function: pages
    draw their charts from our own static files, never a CDN."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    return lambda: [url for url in asked if not url.startswith(live_server.url)]


def log_in_page(page, base_url: str, email: str, password: str):
    """Logs ``page`` in through the real login form, as a person would."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state("networkidle")
    return page


@pytest.fixture
def log_in(page, live_server):
    def log_in_as(email: str, password: str):
        return log_in_page(page, live_server.url, email, password)

    return log_in_as
