"""The demo company's probabilistic matching: switched on, a model trained on its own
profiles, and a first full pass queued, so that a newcomer finds merges the matcher made
("probabilistic", undoable) and pairs in the review queue.

The demo's systems mistype e-mail addresses and birthdays (demo/people.py), so some of
one customer's records share no identifier and stay apart until the matcher joins them.
Run after the demo data is sent: it waits for processing to empty the inbox first (the
model learns from the profiles as they will be), then trains here (seconds for the demo's
thousands of customers) and leaves the pass to the worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from integrations.selectors import inbox_backlog
from profiles.matching import jobs, selectors, services
from profiles.models import MatchRun, MatchSettings

WAIT_SECONDS = 600  # for processing to catch up before training: then it trains anyway


def enable_matching(
    *, wait_seconds: float = WAIT_SECONDS, say: Callable[[str], None] = print
) -> MatchRun | None:
    """Switches matching on and trains and starts a pass, once: when a model fitting the
    settings exists already (a second ``make demo``), nothing. None when nothing started
    (what stopped it is said)."""
    current = MatchSettings.load()
    model = selectors.latest_model()
    if model is not None and model.signature == selectors.definition(current).signature:
        say("Matching: a model fits the settings already; nothing to do.")
        return None
    _wait_for_processing(wait_seconds, say)
    try:
        model = services.train()
        services.update_settings(enabled=True)
        run = jobs.start_pass(kind=MatchRun.Kind.FULL)
    except services.MatchingError as error:
        say(f"Matching stays off: {error.field}: {error.reason}")
        return None
    say(
        f"Matching on: model v{model.pk} trained on {model.profiles_used:,} profiles in "
        f"{model.seconds:.1f} s; full pass #{run.pk} queued."
    )
    return run


def _wait_for_processing(seconds: float, say: Callable[[str], None]) -> None:
    deadline, polls = time.monotonic() + seconds, 0
    while (left := inbox_backlog()) and time.monotonic() < deadline:
        if polls % 6 == 0:  # a line every 30 s in the log
            say(f"Matching: waiting for processing ({left:,} events to go) …")
        polls += 1
        time.sleep(5)
