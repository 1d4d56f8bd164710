"""Runs the demo company's pulled systems (local imitations of its CRM and its shop, demo
data only, loopback only) and points the demo's connections at them; `make demo` starts
it beside the web server and the worker."""

import random
import signal
import threading
from datetime import UTC, datetime

from django.core.management.base import BaseCommand

from demo import pull_services, pull_shop

TICK_SECONDS = 60


class Command(BaseCommand):
    help = "Serves the demo CRM and shop imitations and keeps their connections pointed at them."

    def add_arguments(self, parser):
        parser.add_argument("--crm-port", type=int, default=0, help="0: any free port")
        parser.add_argument("--shop-port", type=int, default=0, help="0: any free port")
        parser.add_argument("--customers", type=int, default=5_000)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, crm_port, shop_port, customers, seed, **options):
        crm = pull_services.start_crm(seed=seed, customers=customers, port=crm_port)
        shop = pull_shop.start_shop(seed=seed, customers=customers, port=shop_port)
        for imitation, connection, what in (
            (crm, pull_services.ensure_crm_connection(url=crm.url), "CRM (HubSpot API)"),
            (shop, pull_shop.ensure_shop_connection(url=shop.url), "shop (Shopify API)"),
        ):
            self.stdout.write(
                f"demo {what} imitation, demo data only, at {imitation.url}; the connection "
                f"“{connection.source.name}” syncs it every {connection.schedule_minutes} min"
            )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        rng = random.Random(seed)
        try:
            while not stop.wait(TICK_SECONDS):
                now = datetime.now(UTC)
                moved = pull_services.tick(crm, rng=rng, now=now)
                placed = pull_shop.tick(shop, rng=rng, now=now)
                self.stdout.write(f"demo: {moved} CRM contact(s) moved on, {placed} new order(s)")
        except KeyboardInterrupt:
            pass
        finally:
            crm.stop()
            shop.stop()
