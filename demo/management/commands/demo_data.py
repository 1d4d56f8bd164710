import json
import sys
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from demo.files import demo_dir
from demo.load import Progress, load_demo_data
from demo.matching_setup import enable_matching
from demo.send import SendError
from demo.sources import BY_KEY
from profiles.services import queue_score_recompute

MAX_CUSTOMERS = 1_000_000
BAR = 30


def loaded_marker():
    """Written after a complete load; ``manage.py up`` loads the demo only while it is absent."""
    return demo_dir() / "loaded"


class Command(BaseCommand):
    help = (
        "Loads a simulated company (an outdoor-gear webshop with stores) through the "
        "collection API and the file import. Running it again adds nothing new."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=5_000, help="1 to 1,000,000")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
        parser.add_argument("--seed", type=int, default=42, help="same seed, same company")
        parser.add_argument("--connections", type=int, default=4, help="concurrent HTTP posts")
        parser.add_argument(
            "--no-matching",
            action="store_true",
            help="leave probabilistic matching off (by default it is trained and switched on)",
        )

    def handle(self, *args, **options):
        customers = options["customers"]
        if not 1 <= customers <= MAX_CUSTOMERS:
            raise CommandError(f"--customers must be between 1 and {MAX_CUSTOMERS:,}.")
        self.stdout.write(
            f"Loading the demo company: {customers:,} customers over a year, seed "
            f"{options['seed']}, into {options['url']} …"
        )
        stop = threading.Event()
        started = []

        def on_start(progress: Progress) -> None:
            self._began = time.monotonic()
            started.append(progress)
            threading.Thread(target=self._report, args=(progress, stop), daemon=True).start()

        try:
            summary = load_demo_data(
                url=options["url"],
                customers=customers,
                seed=options["seed"],
                connections=options["connections"],
                on_start=on_start,
            )
        except SendError as exc:
            raise CommandError(f"The server refused the demo data: {exc}") from exc
        finally:
            stop.set()
        if started:
            self._draw(started[0], final=True)
        self._summarise(summary)
        loaded_marker().write_text(
            json.dumps({"customers": customers, "seed": options["seed"]}) + "\n"
        )
        # The RFM grid reads scores computed every 15 minutes: the first ones now, so that
        # a newcomer's grid is not empty for that long.
        queue_score_recompute()
        if not options["no_matching"]:
            enable_matching(say=self.stdout.write)

    # Output ------------------------------------------------------------------------------

    def _report(self, progress: Progress, stop: threading.Event) -> None:
        # On a terminal the bar redraws in place; in a log (the ``up`` runner) a line
        # every few seconds keeps the output readable.
        tty = sys.stdout.isatty()
        while not stop.wait(0.5 if tty else 5):
            self._draw(progress, final=False)

    def _draw(self, progress: Progress, *, final: bool) -> None:
        tty = sys.stdout.isatty()
        total = max(progress.total, progress.sent, 1)
        done = progress.sent / total
        elapsed = max(time.monotonic() - self._began, 1e-6)
        rate = progress.sent / elapsed
        approx = "" if progress.exact else "~"
        bar = "#" * int(BAR * done) + "-" * (BAR - int(BAR * done))
        line = (
            f"[{bar}] {progress.sent:,} / {approx}{total:,} events sent ({done:.0%}), "
            f"{rate:,.0f}/s{'' if progress.phase == 'sending' else ', ' + progress.phase}"
        )
        if tty:
            self.stdout.write("\r" + line, ending="\n" if final else "")
            self.stdout.flush()
        else:
            self.stdout.write(line)

    def _summarise(self, summary) -> None:
        names = {key: spec.name for key, spec in BY_KEY.items()}
        lines = [f"{'source':<36} {'sent':>10} {'in table':>10} {'new':>8}"]
        for key, name in names.items():
            if key in summary.files:
                outcome = summary.files[key]
                sent = f"{outcome.rows:,} rows"
            else:
                sent = f"{summary.sent.get(key, 0):,}"
            after = summary.after.get(key, 0)
            new = after - summary.before.get(key, 0)
            skipped = key in summary.files and summary.files[key].skipped
            note = "  (same file as before: not imported again)" if skipped else ""
            lines.append(f"{name:<36} {sent:>10} {after:>10,} {new:>8,}{note}")
        errors = sum(o.errors for o in summary.files.values())
        lines.append(
            f"Done in {summary.seconds:,.1f} s: {summary.new_events:,} new events stored"
            + (f", {errors:,} file rows with errors" if errors else "")
            + (" (nothing new: already loaded)" if summary.new_events == 0 else "")
            + "."
        )
        self.stdout.write("\n".join(lines))
