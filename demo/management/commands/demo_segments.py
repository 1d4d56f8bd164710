from django.core.management.base import BaseCommand

from demo.segment_setup import ensure_demo_segments


class Command(BaseCommand):
    help = "Creates the demo company's segments (once; existing ones are kept)."

    def handle(self, *args, **options):
        created = ensure_demo_segments()
        self.stdout.write(f"{len(created)} demo segment(s) created.")
