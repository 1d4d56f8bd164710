"""Checks that the insights rollups equal a count of the data they sum up."""

from django.core.management.base import BaseCommand, CommandError

from insights.selectors import stage_flow_differences

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Compares the journey view's rollups (moves between stages per hour, time spent in "
        "a stage per day) with a count of the profiles' stage history; exits 1 and lists "
        "the differences if any."
    )

    def handle(self, *args, **options):
        differences = stage_flow_differences()
        if not differences:
            self.stdout.write("Stage flows: the rollup equals the stage history.")
            return
        for group, history, rollup in differences[:SHOWN]:
            self.stdout.write(f"{group}: history {history}, rollup {rollup}")
        raise CommandError(f"Stage flows: {len(differences)} groups differ from the history.")
