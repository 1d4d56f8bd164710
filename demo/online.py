"""The website and the app: anonymous browsing, logins, baskets, checkouts, quotes."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import catalog
from .people import email_as_typed, name_as_typed, phone_as_typed
from .shapes import product_props


class OnlineChannels:
    """Story steps on the website and in the app (mixed into ``Story``)."""

    def web_context(self, device: int, path: str, title: str, referrer: str = "") -> dict:
        page = {"path": path, "url": catalog.WEB_HOST + path, "title": title}
        if referrer:
            page["referrer"] = referrer
        return {
            "page": page,
            "userAgent": self.agents[device],
            "locale": "en-US",
            "library": {"name": "cdp.js", "version": "1.0.0"},
        }

    def ids(self, channel: str, device: int) -> dict:
        if channel == "app":  # the app logs in right after it is installed
            user_id = self.person.account_id if self.identified else None
            return {"anonymousId": self.person.app_device, "userId": user_id}
        logged_in = self.person.account_id if device in self.identified else None
        return {"anonymousId": self.person.web_ids[device], "userId": logged_in}

    def page(self, t, device: int, path: str, title: str, *, referrer: str = "", campaign=None):
        context = self.web_context(device, path, title, referrer)
        if campaign:
            context["campaign"] = dict(zip(("source", "medium", "name"), campaign, strict=True))
        self.emit(
            "website",
            t,
            "page",
            name=title,
            properties={"path": path, "title": title},
            context=context,
            **self.ids("website", device),
        )

    def track(self, channel: str, t, device: int, event: str, properties: dict, context=None):
        context = context or (
            self.app_context() if channel == "app" else self.web_context(device, "/", event)
        )
        self.emit(
            channel,
            t,
            "track",
            event=event,
            properties=properties,
            context=context,
            **self.ids(channel, device),
        )

    def app_context(self) -> dict:
        os_name, model, version = catalog.APP_DEVICES[self.person.index % len(catalog.APP_DEVICES)]
        return {
            "app": {"name": "Trailhead", "version": "3.8.1", "build": "381"},
            "device": {"id": self.person.app_device, "model": model, "type": os_name},
            "os": {"name": os_name, "version": version},
            "library": {"name": f"analytics-{os_name}", "version": "4.1.0"},
        }

    def web_session(
        self, t: datetime, *, intent: str, channel: str = "website", campaign=None
    ) -> datetime:
        """A visit; ``campaign`` is the UTM tags of the link it came from (an e-mail)."""
        if channel == "app":
            return self.app_session(t)
        rng = self.rng
        device = rng.randrange(len(self.person.web_ids))
        if self.person.account_id and self.identified and device not in self.identified:
            t = self.login(t, device)  # the known customer on a second device
        landing, title = rng.choice(catalog.CONTENT_PAGES)
        referrer = rng.choice(catalog.REFERRERS)
        if campaign:
            referrer = ""  # a mail client sends none
        elif self.visits == 0:
            campaign, referrer = self.first_touch
        elif rng.random() < 0.3:
            campaign = rng.choice(catalog.UTM_CAMPAIGNS)
        self.visits += 1
        self.page(t, device, landing, title, referrer=referrer, campaign=campaign)
        if intent == "orient":
            for _ in range(rng.randint(0, 2)):
                t += timedelta(seconds=rng.uniform(20, 240))
                self.page(t, device, *rng.choice(catalog.CONTENT_PAGES))
            if rng.random() < 0.5:
                t += timedelta(seconds=rng.uniform(10, 90))
                query = rng.choice(catalog.SEARCH_TERMS)
                self.track("website", t, device, "Products Searched", {"query": query})
                self.page(t, device, f"/search?q={query.replace(' ', '+')}", f"Search: {query}")
            if rng.random() < 0.25:
                t = self.download(t + timedelta(seconds=rng.uniform(30, 300)), device)
        views = rng.randint(0 if intent == "orient" else 2, 1 if intent == "orient" else 5)
        for _ in range(views):
            t += timedelta(seconds=rng.uniform(15, 300))
            product = product_props(*self.pick())
            self.page(t, device, f"/p/{product['sku'].lower()}", product["name"])
            self.track("website", t, device, "Product Viewed", product)
        if intent == "consider" and rng.random() < 0.2:
            self.track(
                "website",
                t + timedelta(seconds=40),
                device,
                "Product Added to Wishlist",
                product_props(*self.pick()),
            )
        if intent == "consider" and rng.random() < 0.15:
            self.page(t + timedelta(seconds=90), device, "/stores", "Find a store")
        return t

    def download(self, t: datetime, device: int) -> datetime:
        content_id, title = self.rng.choice(catalog.CONTENT)
        self.track(
            "website", t, device, "Content Downloaded", {"content_id": content_id, "title": title}
        )
        if self.rng.random() < 0.5:  # a gated download: the form asks for an e-mail
            self.emit(
                "website",
                t,
                "identify",
                traits={"email": email_as_typed(self.person, self.rng)},
                context=self.web_context(device, f"/guides/{content_id}", title),
                **self.ids("website", device),
            )
        return t

    def identify_traits(self) -> dict:
        rng, person = self.rng, self.person
        traits = {
            "email": email_as_typed(person, rng),
            "firstName": name_as_typed(person.first_name, rng),
            "lastName": name_as_typed(person.last_name, rng),
        }
        if rng.random() < 0.4:
            traits["phone"] = phone_as_typed(person, rng)
        if person.company:
            traits["company"] = {"name": person.company}
        return traits

    def login(self, t: datetime, device: int) -> datetime:
        self.identified.add(device)
        context = self.web_context(device, "/account/login", "Log in")
        self.emit(
            "website",
            t,
            "identify",
            traits=self.identify_traits(),
            context=context,
            **self.ids("website", device),
        )
        return t + timedelta(seconds=5)

    def sign_up(self, t: datetime) -> datetime:
        person, rng = self.person, self.rng
        device = rng.randrange(len(person.web_ids))
        self.page(t, device, "/account/register", "Create an account")
        t = self.login(t + timedelta(seconds=rng.uniform(30, 180)), device)
        self.track("website", t, device, "Signed Up", {"method": "email"})
        if person.crm_id:
            self.crm_contact(t + timedelta(hours=rng.uniform(0.5, 20)), reason="webshop")
        if person.subscribed:
            self.email_program(t + timedelta(hours=rng.uniform(0.1, 3)))
        if person.app_device:
            self.app_install(t + timedelta(days=rng.uniform(0.5, 14)))
        return t

    def app_install(self, t: datetime) -> None:
        ctx = self.app_context()
        self.emit(
            "app",
            t,
            "track",
            event="Application Installed",
            properties={"version": "3.8.1"},
            context=ctx,
            anonymousId=self.person.app_device,
        )
        self.emit(
            "app",
            t + timedelta(minutes=2),
            "identify",
            traits=self.identify_traits(),
            context=ctx,
            anonymousId=self.person.app_device,
            userId=self.person.account_id,
        )
        self.app_session(t + timedelta(minutes=3))

    def app_session(self, t: datetime) -> datetime:
        rng, ctx = self.rng, self.app_context()
        ids = {"anonymousId": self.person.app_device, "userId": self.person.account_id}
        self.emit(
            "app",
            t,
            "track",
            event="Application Opened",
            properties={"from_background": rng.random() < 0.5},
            context=ctx,
            **ids,
        )
        self.emit("app", t, "screen", name="Home", properties={"name": "Home"}, context=ctx, **ids)
        for _ in range(rng.randint(1, 4)):
            t += timedelta(seconds=rng.uniform(10, 120))
            product = product_props(*self.pick())
            self.emit(
                "app",
                t,
                "screen",
                name="Product",
                properties={"name": "Product", "sku": product["sku"]},
                context=ctx,
                **ids,
            )
            self.emit(
                "app", t, "track", event="Product Viewed", properties=product, context=ctx, **ids
            )
        return t

    def checkout(self, t: datetime, *, channel: str, complete: bool) -> datetime | None:
        """Basket → checkout → order; without ``complete`` a cart abandonment. The order time."""
        rng, device = self.rng, 0
        cart_id = f"cart_{rng.getrandbits(48):012x}"
        products = self.basket()
        value = round(sum(p["price"] * p["quantity"] for p in products), 2)
        for product in products:
            t += timedelta(seconds=rng.uniform(20, 200))
            self.track(channel, t, device, "Product Added", {**product, "cart_id": cart_id})
        t += timedelta(seconds=rng.uniform(20, 120))
        self.track(channel, t, device, "Cart Viewed", {"cart_id": cart_id, "products": products})
        self.track(
            channel,
            t + timedelta(seconds=30),
            device,
            "Checkout Started",
            {"cart_id": cart_id, "value": value, "currency": "USD", "products": products},
        )
        if not complete:
            self.cart_reminder(t + timedelta(hours=rng.uniform(2, 6)))
            return None
        t += timedelta(seconds=rng.uniform(60, 400))
        order_id = f"W{rng.getrandbits(48):014d}"
        shipping = 0.0 if value >= 99 else 7.95
        tax = round(value * 0.08, 2)
        self.track(
            channel,
            t,
            device,
            "Order Completed",
            {
                "order_id": order_id,
                "checkout_id": cart_id,
                "total": round(value + tax + shipping, 2),
                "revenue": value,
                "tax": tax,
                "shipping": shipping,
                "currency": "USD",
                "coupon": "WELCOME10" if rng.random() < 0.15 else None,
                "products": products,
            },
        )
        self.invoice(t, order_id=order_id, amount=value + tax + shipping, channel=channel)
        return t

    def review(self, t: datetime) -> None:
        product = product_props(*self.pick())
        properties = {"product_id": product["sku"], "rating": self.rng.choice((3, 4, 5, 5, 5))}
        self.track("website", t, 0, "Product Reviewed", properties)

    def quote_request(self, t: datetime) -> datetime:
        rng, person = self.rng, self.person
        products = self.basket()
        quote_id = f"Q-{rng.getrandbits(32):010d}"
        self.page(t, 0, "/business/quote", "Request a quote for your team")
        self.emit(
            "website",
            t,
            "identify",
            traits=self.identify_traits(),
            context=self.web_context(0, "/business/quote", "Request a quote"),
            **self.ids("website", 0),
        )
        self.track(
            "website",
            t,
            0,
            "Quote Requested",
            {
                "quote_id": quote_id,
                "company": person.company,
                "quantity": rng.choice((10, 20, 25, 50)),
                "products": products,
            },
        )
        if person.crm_id:
            self.crm_contact(t + timedelta(hours=rng.uniform(1, 24)), reason="quote request")
        if rng.random() < 0.6:  # won: the sales team books the order in the ERP
            won = t + timedelta(days=rng.uniform(3, 12))
            order_id = f"SO-{rng.getrandbits(32):010d}"
            amount = round(sum(p["price"] for p in products) * 20 * 0.85, 2)
            self.emit(
                "erp",
                won,
                "track",
                event="Order Completed",
                userId=self.erp_id,
                properties={
                    "order_id": order_id,
                    "quote_id": quote_id,
                    "total": amount,
                    "revenue": amount,
                    "currency": "USD",
                    "channel": "sales",
                    "company": person.company,
                },
                context={"library": {"name": "erp-connector", "version": "2.0"}},
            )
            self.invoice(won, order_id=order_id, amount=amount, channel="sales")
        return t
