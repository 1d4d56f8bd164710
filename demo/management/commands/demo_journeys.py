from django.core.management.base import BaseCommand

from demo.campaign_setup import ensure_demo_journeys
from demo.mailbox import DEFAULT_PORT


class Command(BaseCommand):
    help = (
        "Creates and starts the demo company's journeys (the gallery's, on demo time), "
        "their e-mails to the demo mailbox; once, existing ones are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--mailbox-port", type=int, default=DEFAULT_PORT)

    def handle(self, *args, mailbox_port, **options):
        made = ensure_demo_journeys(mailbox_port=mailbox_port)
        self.stdout.write(f"{len(made)} demo journey(s) created and started.")
