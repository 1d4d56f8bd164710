"""Stores, the ERP, the CRM and the e-mail platform: what happens off the website."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import catalog
from .people import (
    birthday_as_typed,
    email_as_typed,
    maybe_null,
    name_as_typed,
    phone_as_typed,
)
from .shapes import DAY, HOUR, iso


class BackOffice:
    """Story steps in the tills, the ERP, the CRM and the e-mail platform (mixed into ``Story``)."""

    def store_purchase(self, t: datetime) -> None:
        rng, person = self.rng, self.person
        t = t.replace(hour=rng.randint(15, 23)) + timedelta(
            minutes=rng.randint(0, 59)
        )  # open hours (UTC)
        store_id, store_name, _ = self.store if rng.random() < 0.85 else rng.choice(catalog.STORES)
        if person.loyalty_card and not self.card_issued:
            self.card_issued = True  # the card is handed out at the first visit
            self.emit(
                "pos",
                t,
                "identify",
                userId=person.loyalty_card,
                traits={
                    "loyaltyCardId": person.loyalty_card,
                    "email": email_as_typed(person, rng, sloppy=0.5),
                    "phone": maybe_null(phone_as_typed(person, rng), rng, rate=0.2),
                    "firstName": name_as_typed(person.first_name, rng),
                    "lastName": name_as_typed(person.last_name, rng),
                    "postalCode": person.postal_code,
                    "storeId": store_id,
                },
            )
            if person.crm_id:
                self.crm_contact(t + timedelta(hours=rng.uniform(2, 30)), reason="store")
            if person.subscribed and not person.account_id:
                self.email_program(t + timedelta(hours=rng.uniform(3, 30)))
        products = self.basket()
        value = round(sum(p["price"] * p["quantity"] for p in products), 2)
        order_id = f"POS-{store_id}-{rng.getrandbits(40):013d}"
        card = person.loyalty_card if person.loyalty_card and rng.random() < 0.9 else None
        ids = {"userId": card} if card else {"anonymousId": f"receipt-{order_id}"}
        self.emit(
            "pos",
            t,
            "track",
            event="Order Completed",
            properties={
                "order_id": order_id,
                "store_id": store_id,
                "store_name": store_name,
                "loyalty_card_id": card,
                "total": round(value * 1.08, 2),
                "revenue": value,
                "tax": round(value * 0.08, 2),
                "currency": "USD",
                "payment_method": rng.choice(("card", "card", "cash", "mobile")),
                "products": products,
            },
            context={"library": {"name": "till-sync", "version": "7.3"}},
            **ids,
        )
        if card and rng.random() < 0.7:
            self.emit(
                "pos",
                t,
                "track",
                event="Loyalty Points Earned",
                userId=card,
                properties={"points": int(value), "order_id": order_id},
            )
        self.invoice(t, order_id=order_id, amount=value * 1.08, channel="store")

    def invoice(self, t: datetime, *, order_id: str, amount: float, channel: str) -> None:
        rng = self.rng
        self.emit(
            "erp",
            t + timedelta(hours=rng.uniform(2, 40)),
            "track",
            event="Invoice Issued",
            userId=self.erp_id,
            properties={
                "invoice_id": f"INV-{rng.getrandbits(40):013d}",
                "order_id": order_id,
                "amount": round(amount, 2),
                "currency": "USD",
                "channel": channel,
                "billing_email": maybe_null(email_as_typed(self.person, rng), rng, rate=0.1),
            },
            context={"library": {"name": "erp-connector", "version": "2.0"}},
        )

    def crm_contact(self, t: datetime, *, reason: str) -> None:
        rng, person = self.rng, self.person
        traits = {
            "crmId": person.crm_id,
            "email": email_as_typed(person, rng, sloppy=0.35),
            "phone": maybe_null(phone_as_typed(person, rng), rng, rate=0.15),
            "firstName": name_as_typed(person.first_name, rng),
            "lastName": name_as_typed(person.last_name, rng),
            "birthday": birthday_as_typed(person, rng),
            "address": {
                "city": person.city,
                "state": person.state,
                "postalCode": maybe_null(person.postal_code, rng),
            },
            "loyaltyCardId": person.loyalty_card if rng.random() < 0.7 else None,
            "webshopAccountId": person.account_id if rng.random() < 0.6 else None,
            "company": person.company,
            "leadSource": reason,
            "createdAt": iso(t),
        }
        context = {"library": {"name": "crm-sync", "version": "4.2"}}
        self.emit("crm", t, "identify", userId=person.crm_id, traits=traits, context=context)
        if rng.random() < 0.03:  # a duplicate contact keyed by a colleague, upper-case e-mail
            dupe = f"CRM-{rng.getrandbits(40):012X}"
            self.emit(
                "crm",
                t + timedelta(days=rng.uniform(1, 20)),
                "identify",
                userId=dupe,
                traits={
                    "crmId": dupe,
                    "email": person.email.upper(),
                    "phone": "NULL",
                    "firstName": person.first_name,
                    "lastName": person.last_name,
                    "leadSource": "manual",
                },
                context=context,
            )
        if rng.random() < 0.3:  # a later edit: consent captured, phone re-typed
            self.emit(
                "crm",
                t + timedelta(days=rng.uniform(2, 40)),
                "identify",
                userId=person.crm_id,
                traits={
                    "phone": phone_as_typed(person, rng),
                    "marketingOptIn": person.subscribed,
                },
                context=context,
            )

    def email_event(
        self, t: datetime, address: str, campaign: tuple, *, open_rate: float, click_rate: float
    ) -> datetime | None:
        """Opened and maybe clicked; the time of the click, or None."""
        rng = self.rng
        campaign_id, name, subject = campaign
        base = {
            "campaign_id": campaign_id,
            "campaign_name": name,
            "email_subject": subject,
            "email_id": f"{campaign_id}-{t:%Y%m%d}",
        }
        context = {
            "library": {"name": "esp-webhooks", "version": "1.4"},
            "traits": {"email": address},
        }
        clicked = None
        if rng.random() < open_rate:
            opened = t + timedelta(hours=rng.uniform(0.1, 30))
            self.emit(
                "email",
                opened,
                "track",
                event="Email Opened",
                userId=address,
                properties=base,
                context=context,
            )
            if rng.random() < click_rate:
                clicked = opened + timedelta(minutes=rng.uniform(0.2, 5))
                url = f"{catalog.WEB_HOST}/{campaign_id.removeprefix('cmp-')}?utm_source=newsletter"
                self.emit(
                    "email",
                    clicked,
                    "track",
                    event="Email Link Clicked",
                    userId=address,
                    properties={**base, "link_url": url},
                    context=context,
                )
        return clicked

    def email_program(self, since: datetime) -> None:
        rng = self.rng
        # The ESP trims what it imports but keeps the case it was given.
        self.esp_address = email_as_typed(self.person, rng, sloppy=0.2).strip()
        self.email_event(
            since, self.esp_address, catalog.EMAIL_CAMPAIGNS[0], open_rate=0.6, click_rate=0.4
        )
        t = since + timedelta(days=rng.uniform(1, 7))
        while t < self.end:
            campaign = rng.choice(catalog.EMAIL_CAMPAIGNS[1:2] * 3 + catalog.EMAIL_CAMPAIGNS[3:])
            if t.month in (11, 12) and rng.random() < 0.5:  # the year-end sale, every other week
                campaign = catalog.EMAIL_CAMPAIGNS[4]
            clicked = self.email_event(
                t, self.esp_address, campaign, open_rate=0.3, click_rate=0.25
            )
            if clicked:
                self.after_click(clicked, campaign)
            t += 14 * DAY  # fortnightly

    def after_click(self, t: datetime, campaign: tuple) -> None:
        """A newsletter click lands on the website with the campaign's tags (a customer of
        the tills comes to the store instead); some clickers order."""
        rng, slug = self.rng, campaign[0].removeprefix("cmp-")
        orders = rng.random() < catalog.CLICK_ORDERS.get(campaign[0], 0) and not self.dormant
        if not self.person.web_ids:
            if orders:
                self.store_purchase(t + timedelta(days=rng.uniform(0.5, 4)))
            return
        tags = ("newsletter", "email", slug)
        t = self.web_session(t + timedelta(seconds=5), intent="consider", campaign=tags)
        if orders:
            self.checkout(t + timedelta(minutes=2), channel="website", complete=True)

    def cart_reminder(self, t: datetime) -> None:
        address = self.esp_address
        if address and self.email_event(
            t, address, catalog.EMAIL_CAMPAIGNS[2], open_rate=0.45, click_rate=0.4
        ):
            self.page(t + HOUR, 0, "/cart", "Your cart")
