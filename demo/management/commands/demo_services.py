"""Runs the demo company's pulled systems (local imitations, loopback only) and points the
demo's connections at them; `make demo` starts it beside the web server and the worker."""

import random
import signal
import threading
from datetime import UTC, datetime

from django.core.management.base import BaseCommand

from demo import pull_services

TICK_SECONDS = 60


class Command(BaseCommand):
    help = "Serves the demo CRM imitation and keeps the demo's CRM connection pointed at it."

    def add_arguments(self, parser):
        parser.add_argument("--crm-port", type=int, default=0, help="0: any free port")
        parser.add_argument("--customers", type=int, default=5_000)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, crm_port, customers, seed, **options):
        crm = pull_services.start_crm(seed=seed, customers=customers, port=crm_port)
        connection = pull_services.ensure_crm_connection(url=crm.url)
        self.stdout.write(
            f"demo CRM imitation (HubSpot API, demo data only) at {crm.url}; the connection "
            f"“{connection.source.name}” syncs it every {connection.schedule_minutes} minutes"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        rng = random.Random(seed)
        try:
            while not stop.wait(TICK_SECONDS):
                moved = pull_services.tick(crm, rng=rng, now=datetime.now(UTC))
                self.stdout.write(f"demo CRM: {moved} contact(s) moved a lifecycle stage on")
        except KeyboardInterrupt:
            pass
        finally:
            crm.stop()
