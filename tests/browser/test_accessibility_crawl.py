"""Every page reachable from the navigation, for every role, in real Chromium with
axe-core (tests/browser/node_modules, installed by scripts/ensure-node-modules)
injected: no serious or critical violation, no console error (a CSP refusal, a failed
script) and no failed request (a 404) on any of them.

The crawl opens each role's navigation items, the pages they link to and the pages
those link to (one per kind of URL: /segments/1/ stands for every segment page), at a
desktop's width and, for the admin, at a phone's too.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from campaigns import services as campaigns
from campaigns.audiences import services as audiences
from campaigns.models import MessageTemplate
from cdp_site import services as site_services
from cdp_site.permissions import ADMIN, ROLES
from integrations import services as integrations
from integrations.connectors import services as connectors
from integrations.destinations import services as destinations
from integrations.models import Source
from integrations.tracking_plan.inference import infer_plan
from profiles.rules import services as rules
from segments import services as segments
from segments import static_lists
from tests.browser.conftest import log_in_page
from tests.conftest import PASSWORD
from tests.profiles.conftest import drain, message
from tests.support import segment_rules

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "/__test__/axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations
        .filter(v => v.impact === "serious" || v.impact === "critical")
        .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
}"""
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')"
DEPTH = 3  # the navigation, the pages it links to, and theirs
# Links a crawl must not follow: they change things or leave the HTML pages.
SKIP = re.compile(r"/accounts/logout|\.csv$|/export|/api/(?!docs/)|/hooks/|/t/|/v1/")


@pytest.fixture
def world(transactional_db):
    """A little of everything the pages show: a source with events, a profile, a rule
    segment and an uploaded list, a message template, destinations and a journey."""
    web = integrations.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    for key, label, event, aggregation, prop in [
        ("favourite_category", "Favourite category", "Product Viewed", "most_frequent", "category"),
        ("lifetime_revenue", "Lifetime revenue", "Order Completed", "sum", "total"),
        ("product_views_14d", "Product views, last 14 days", "Product Viewed", "count", ""),
    ]:
        rules.save_computed_trait(
            key=key, label=label, event_name=event, aggregation=aggregation, property=prop
        )
    identify = message(
        "identify",
        userId="w-ann",
        traits={"email": "Ann.Smith@Example.ORG", "firstName": "Ann", "lastName": "Smith"},
    )
    viewed = message(userId="w-ann", event="Product Viewed", properties={"category": "Jackets"})
    order = message(userId="w-ann", event="Order Completed", properties={"total": 12})
    integrations.ingest_messages(source_id=web.pk, messages=[identify, viewed, order])
    drain()
    infer_plan(source=web, name="Webshop plan")  # its page lists events and violations
    integrations.ingest_messages(source_id=web.pk, messages=[message(userId="w-ann", event="New")])
    rule = segment_rules.rule({"type": "event", "name": "Order Completed"})
    buyers = segments.create_segment(name="Buyers", rule=rule)
    static_lists.create_static_segment(name="VIP list")
    template = MessageTemplate.objects.create(
        name="Thanks", subject="Thanks", body_html="<p>Hi</p>"
    )
    mail = destinations.create_destination(
        name="Mail", kind="smtp", config={"host": "127.0.0.1", "from_email": "a@example.org"}
    )
    destinations.create_destination(
        name="Hook", kind="webhook", config={"url": "http://127.0.0.1:9/hook"}
    )
    ads = destinations.create_destination(
        name="Ads",
        kind="meta_custom_audience",
        config={"api_base": "http://127.0.0.1:9/v25.0"},
        secrets={"access_token": "token"},
    )
    audiences.create_sync(name="Buyers to Meta", segment=buyers, destination=ads, audience_id="1")
    connectors.create_connection(
        name="Partner API", kind="rest", base_url="http://127.0.0.1:9/", config={"path": "/c"}
    )
    campaigns.create_campaign(
        name="Thank buyers",
        kind="segment_entered",
        segment=buyers,
        goal_event="Order Completed",
        steps=[
            {
                "id": "mail",
                "type": "send_email",
                "template_id": template.pk,
                "destination_id": mail.pk,
            }
        ],
    )
    for role in ROLES:
        site_services.create_user(email=f"{slug(role)}@example.org", role=role, password=PASSWORD)


def slug(role: str) -> str:
    return role.lower().replace(" ", "-")


def pattern(path: str) -> str:
    return re.sub(r"/\d+", "/N", path)


class Crawl:
    """Opens pages, checks each, remembers what it found."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.problems: list[str] = []
        self.visited: list[str] = []
        self.console: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        page.on("pageerror", lambda e: self.console.append(str(e)))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        # A request cut short by the next navigation (ERR_ABORTED) is the crawl's doing.
        page.on(
            "requestfailed",
            lambda r: (
                "ERR_ABORTED" not in (r.failure or "")
                and self.failed.append(f"failed {r.url}: {r.failure}")
            ),
        )
        page.route(base + AXE_URL, lambda route: route.fulfill(path=AXE))

    def visit(self, path: str) -> list[str]:
        """Opens ``path``, checks it; returns the same-origin pages it links to."""
        self.console.clear()
        self.failed.clear()
        self.visited.append(path)
        self.page.goto(self.base + path)
        # Lazy panels (hx-trigger="load") start right after load: wait for htmx to be idle.
        self.page.wait_for_timeout(100)
        self.page.wait_for_function(SETTLED)
        # From our origin (answered by the route above), as our CSP allows scripts only
        # from 'self': an inline tag would be refused, and turning the CSP off would hide
        # the refusals this crawl looks for.
        try:
            self.page.add_script_tag(url=self.base + AXE_URL)
            found = self.page.evaluate(AXE_RUN)
        except PlaywrightError as error:  # e.g. the page's own errors reported while loading
            found = [f"axe could not run: {error.message.splitlines()[0]}"]
        width = self.page.evaluate("() => document.documentElement.scrollWidth")
        viewport = self.page.viewport_size["width"]
        if width > viewport:
            found.append(f"page is {width} px wide in a {viewport} px window")
        found += [f"console: {text}" for text in self.console]
        found += [f"request: {failure}" for failure in self.failed]
        self.problems += [f"{path}: {problem}" for problem in found]
        hrefs = self.page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(a => a.getAttribute('href'))"
        )
        return [h for h in hrefs if h.startswith("/") and not SKIP.search(urlsplit(h).path)]


def crawl_as(role: str, page, base_url: str) -> Crawl:
    """The navigation's pages and, two links deep, one page of each kind they lead to."""
    log_in_page(page, base_url, f"{slug(role)}@example.org", PASSWORD)
    crawl = Crawl(page, base_url)
    navigation = page.eval_on_selector_all(
        "nav[aria-label=Main] a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert navigation, f"{role} sees no navigation"
    seen: set[str] = set()
    level = navigation
    for _depth in range(DEPTH):
        following = []
        for path in level:
            path = urlsplit(path).path
            if pattern(path) not in seen:
                seen.add(pattern(path))
                following += crawl.visit(path)
        level = following
    return crawl


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_passes_axe_without_console_errors(
    role, world, browser, live_server
):
    problems = []
    # Every role at a desktop's width; at a phone's, the admin, who sees every page and
    # every control the others see (the layout does not depend on the role).
    for viewport in (DESKTOP, PHONE) if role == ADMIN else (DESKTOP,):
        context = browser.new_context(viewport=viewport)
        try:
            crawl = crawl_as(role, context.new_page(), live_server.url)
        finally:
            context.close()
        assert len(crawl.visited) >= 3, crawl.visited
        problems += [f"{viewport['width']} px {problem}" for problem in crawl.problems]
    assert problems == [], "\n".join(problems)
