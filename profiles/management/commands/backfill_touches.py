"""Recomputes every profile's first and last touch from its events, with a progress line."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from profiles import attribution


class Command(BaseCommand):
    help = (
        "Recomputes the first and last touch (computed first_touch_* / last_touch_*) of "
        "every active profile whose events kept a campaign or a page. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=1000, help="profiles per transaction")

    def handle(self, *args, **options):
        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1.")
        began, tty = time.monotonic(), sys.stdout.isatty()

        def on_chunk(done: int) -> None:
            rate = done / max(time.monotonic() - began, 1e-6)
            line = f"{done:,} profiles, {rate:,.0f}/s"
            self.stdout.write("\r" + line if tty else line, ending="" if tty else "\n")
            self.stdout.flush()

        seen, changed = attribution.backfill(chunk=options["chunk"], on_chunk=on_chunk)
        if tty and seen:
            self.stdout.write("")
        seconds = time.monotonic() - began
        self.stdout.write(
            f"Touches recomputed for {seen:,} profiles ({changed:,} changed) in {seconds:.1f} s."
        )
