"""One customer's year, told as the messages each system would send about them.

Every random draw happens whether or not its message is kept (a message before the
window or not yet happened is dropped), so message ids never shift: a run the same day
reproduces the same messages and stores nothing new. The days are drawn on the calendar
(weekends and the year-end are busier, see season.py), so a run on another day tells a
slightly different year; ``up`` loads the demo once (var/demo/loaded).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import catalog, season
from .offline import BackOffice
from .online import OnlineChannels
from .people import make_person
from .profile_files import partner_row, provider_row
from .shapes import DAY, HOUR, WINDOW, Item, iso, product_props

LEAD = 90 * DAY


class Story(OnlineChannels, BackOffice):
    """One person's messages across every system, built in one pass by ``tell``."""

    def __init__(self, *, seed: int, index: int, start: datetime):
        self.person, self.rng = make_person(seed=seed, index=index)
        self.prefix = f"demo-{seed}-{index}-"
        self.start, self.end = start, start + WINDOW
        self.seq = 0
        self.items: list[Item] = []
        rng = self.rng
        self.focus = rng.choice(sorted({p[2] for p in catalog.PRODUCTS}))
        self.agents = [rng.choice(catalog.USER_AGENTS) for _ in self.person.web_ids]
        self.identified: set[int] = set()  # web devices that saw a login
        self.store = rng.choice(catalog.STORES)
        self.erp_id = self.person.crm_id or f"DEB-{rng.randint(10**7, 10**8 - 1)}"
        self.card_issued = False
        self.esp_address: str | None = None  # set once subscribed to the newsletter
        # The first visit's campaign and referrer; businesses are not found on social media.
        first = rng.choices(*zip(*catalog.ACQUISITION, strict=True))[0]
        social = first[0] is not None and first[0][1] == "social"
        self.first_touch = (
            catalog.ACQUISITION[0][0] if social and self.person.kind == "b2b" else first
        )
        self.visits = 0
        self.dormant = False  # a churned customer: nothing bought after the first order

    # Emitting --------------------------------------------------------------------------

    def emit(self, channel: str, at: datetime, type_: str, **fields) -> None:
        self.seq += 1  # counted even when dropped, so that later ids never shift
        if at >= self.end:
            return  # has not happened yet: the story is cut at "now"
        if at < self.start:
            return  # before the window: the shop's older history is not sent
        message = {"type": type_, "messageId": f"{self.prefix}{self.seq}", "timestamp": iso(at)}
        message.update((k, v) for k, v in fields.items() if v is not None)
        self.items.append(Item(channel, at, message))

    def pick(self) -> tuple:
        if self.rng.random() < 0.6:
            return self.rng.choice([p for p in catalog.PRODUCTS if p[2] == self.focus])
        return self.rng.choice(catalog.PRODUCTS)

    def basket(self) -> list[dict]:
        return [
            product_props(*self.pick(), quantity=self.rng.choice((1, 1, 1, 2)))
            for _ in range(self.rng.randint(1, 3))
        ]

    # The whole story ---------------------------------------------------------------------

    def tell(self) -> list[Item]:
        rng, person = self.rng, self.person
        # Stories begin up to LEAD before the window too, so that its first months have
        # the returning customers of a shop already open for years.
        t = season.moment(rng, self.start - LEAD, 0, (LEAD + WINDOW).days - 10)
        if person.kind == "store":
            self.store_life(t)
        else:
            self.online_life(t)
        self.items.extend(
            Item(channel, self.end, row)
            for channel, row in (
                ("partner", partner_row(person, rng)),
                ("provider", provider_row(person, rng, year=self.end.year)),
            )
            if row is not None
        )
        self.items.sort(key=lambda item: item.at)
        return self.items

    def online_life(self, t: datetime) -> None:
        rng, person = self.rng, self.person
        for _ in range(rng.randint(1, 3)):  # orientation
            t = self.web_session(t, intent="orient") + timedelta(hours=rng.uniform(2, 96))
        if person.kind != "browser" or rng.random() < 0.5:  # consideration
            for _ in range(rng.randint(1, 3)):
                t = self.web_session(t, intent="consider") + timedelta(hours=rng.uniform(2, 72))
        if person.kind == "b2b":
            t = self.quote_request(t) + DAY
        if person.account_id:
            t = self.sign_up(t) + timedelta(hours=rng.uniform(1, 48))
        if person.kind == "browser":
            if rng.random() < 0.3:
                self.checkout(t, channel="website", complete=False)
            return
        mood = season.buying_mood(t)
        bought = self.checkout(t, channel="website", complete=rng.random() < 0.65 * mood)
        t += timedelta(days=rng.uniform(1, 10))  # acquisition
        if not bought:
            bought = self.checkout(t, channel="website", complete=rng.random() < 0.5 * mood)
            t = bought or t
        repeats = {"online": (0, 3), "omni": (1, 4), "b2b": (0, 2)}[person.kind]
        repeats = rng.randint(*repeats)
        if self.first_touch[0] == catalog.FACEBOOK and rng.random() < catalog.FACEBOOK_CHURN:
            repeats, self.dormant = 0, bool(bought)
        for _ in range(repeats):  # retention
            t = season.moment(rng, t, 5, 30)
            channel = rng.choice(
                ("website", "app", "pos") if person.kind == "omni" else ("website", "app")
            )
            if channel == "app" and not person.app_device:
                channel = "website"
            if channel == "pos":
                self.store_purchase(t)
            else:
                t = self.web_session(t, intent="consider", channel=channel)
                self.checkout(t + 0.2 * HOUR, channel=channel, complete=True)
            if rng.random() < 0.15:
                self.review(t + timedelta(days=rng.uniform(3, 10)))

    def store_life(self, t: datetime) -> None:
        for _ in range(self.rng.randint(1, 5)):
            self.store_purchase(t)
            t = season.moment(self.rng, t, 6, 35)
