"""Rebuilds every profile's journey-stage history from its events, with a progress bar."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from profiles import services
from profiles.stage_history import active_profile_count

BAR = 30


class Command(BaseCommand):
    help = (
        "Replays each active profile's events against the stage rules and rewrites its "
        "stage history (every change with its time, the rule and the event that made it). "
        "Safe to run again: each profile's history is replaced, never appended to."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=500, help="profiles per transaction")

    def handle(self, *args, **options):
        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1.")
        total = max(active_profile_count(), 1)
        began = time.monotonic()
        tty = sys.stdout.isatty()

        def on_chunk(done: int) -> None:
            # A profile with no events is skipped, so the count may end below the total.
            share = min(done / total, 1.0)
            rate = done / max(time.monotonic() - began, 1e-6)
            bar = "#" * int(BAR * share) + "-" * (BAR - int(BAR * share))
            line = f"[{bar}] {done:,} / ~{total:,} profiles ({share:.0%}), {rate:,.0f}/s"
            self.stdout.write("\r" + line if tty else line, ending="" if tty else "\n")
            self.stdout.flush()

        done = services.backfill_stage_history(chunk=options["chunk"], on_chunk=on_chunk)
        if tty and done:
            self.stdout.write("")
        seconds = time.monotonic() - began
        self.stdout.write(f"Stage history rebuilt for {done:,} profiles in {seconds:.1f} s.")
