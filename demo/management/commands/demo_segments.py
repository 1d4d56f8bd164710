from django.core.management.base import BaseCommand

from demo.personalize_page import ensure_demo_personalization
from demo.segment_setup import ensure_demo_segments
from demo.sources import ensure_demo_sources


class Command(BaseCommand):
    help = (
        "Creates the demo company's segments (once; existing ones are kept) and what its "
        "webshop shows through the personalisation API (/demo/shop/)."
    )

    def handle(self, *args, **options):
        created = ensure_demo_segments()
        self.stdout.write(f"{len(created)} demo segment(s) created.")
        ensure_demo_sources()
        ensure_demo_personalization()
