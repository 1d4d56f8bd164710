"""Runs a full matching pass in the foreground, with a progress bar (what the nightly task
and the Matching page's "Start a full pass" do in a worker)."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from profiles.matching import progress, services
from profiles.models import MatchRun

BAR = 30


class Command(BaseCommand):
    help = (
        "Scores every active profile against the current model and acts on the pairs: "
        "merges above the auto-merge threshold, queues those between the thresholds for "
        "review. One pass runs at a time; merges commit one by one, so a pass run after an "
        "interrupted one goes on from what that one merged. --dry-run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report only")

    def handle(self, *args, **options):
        kind = MatchRun.Kind.DRY_RUN if options["dry_run"] else MatchRun.Kind.FULL
        try:
            run = services.start_run(kind=kind)
        except services.MatchingError as error:
            raise CommandError(f"{error.field}: {error.reason}") from error
        began = time.monotonic()
        run = services.run_pass(run_id=run.pk, listener=self._bar(began))
        if sys.stdout.isatty():
            self.stdout.write("")
        if run.status != MatchRun.Status.DONE:
            raise CommandError(f"The pass failed: {run.error}")
        seconds = time.monotonic() - began
        verb = "would merge" if run.kind == MatchRun.Kind.DRY_RUN else "merged"
        self.stdout.write(
            f"Pass {run.pk}: {run.profiles:,} profiles, {run.pairs:,} pairs scored, "
            f"{verb} {run.merged:,}, queued {run.queued:,} for review, in {seconds:.1f} s."
        )

    def _bar(self, began: float):
        tty = sys.stdout.isatty()

        def show(phase: str, done: int, total: int) -> None:
            if not tty and done and done < total:
                return  # a log gets each phase and its end, not every step
            share = min(done / total, 1.0) if total and phase == progress.MERGING else 0.0
            bar = "#" * int(BAR * share) + "-" * (BAR - int(BAR * share))
            count = f" {done:,} / {total:,}" if phase == progress.MERGING else ""
            elapsed = time.monotonic() - began
            line = f"[{bar}] {progress.LABELS[phase]}{count} ({elapsed:,.0f} s)"
            self.stdout.write("\r" + line.ljust(70) if tty else line, ending="" if tty else "\n")
            self.stdout.flush()

        return show
