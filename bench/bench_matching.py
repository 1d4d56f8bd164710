"""Probabilistic matching (issue 17): accuracy on people with known truth, the full pass
at scale, the incremental matcher's latency, and what matching costs ingestion.

Accuracy (CDP_BENCH_MATCH_PEOPLE, 20,000 people). demo/lookalikes.py writes each person
as one to three of the CRM (crm_id), the shop's backend (user_id) and the ERP
(loyalty_card) hold them, with typos, nicknames, initials, swapped day and month, missing
fields, moved addresses, family e-mails and phones and twins. Every record goes through
the real path (ingest_messages, processing: deterministic resolution on e-mail and
phone), then a model is trained and a full pass run. Pairwise precision, recall and F1
over records (two records are linked when they end in one profile), for deterministic
resolution alone and with matching's auto-merges; the review queue's size beside them.
Then the same records again with e-mail and phone as the matcher's evidence only (not
identifiers that link): what the auto-merges achieve alone, without the households that
deterministic resolution joins through a shared family e-mail or landline.

Full pass (CDP_BENCH_MATCH_PROFILES, 1,000,000 profiles, one per person and
CDP_BENCH_MATCH_DUPLICATES (2 %) more written by another source, COPY): the pass (export,
scoring, acting) next to Splink alone predicting on the same exported rows in the same run;
peak memory of this process (DuckDB runs in it).

Incremental: the warm index over those profiles, then CDP_BENCH_MATCH_LATENCY (50) times
a new duplicate is ingested and processed, and the micro-batch run: seconds from the
ingest call to the merge (or queue) committed, p50 and p95.

Cost to ingestion: the same identify batches processed with the matcher's trigger
connected and disconnected, in turn (the matching itself runs in another worker).
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import time
from collections import Counter
from contextlib import contextmanager

from django.db import connection

from bench.common import Row, no_processing_tasks, percentile, progress
from demo import lookalikes
from integrations import processing
from integrations import services as collect
from profiles.changes import profile_changed
from profiles.matching import engine, incremental, selectors, services
from profiles.models import IdentifierKind, Identity, MatchCandidate, MatchRun, MatchSettings, Merge
from profiles.services import set_source_user_id_kind

PEOPLE = int(os.environ.get("CDP_BENCH_MATCH_PEOPLE", "20000"))
PROFILES = int(os.environ.get("CDP_BENCH_MATCH_PROFILES", "1000000"))
DUPLICATES = float(os.environ.get("CDP_BENCH_MATCH_DUPLICATES", "0.02"))
LATENCY_TRIALS = int(os.environ.get("CDP_BENCH_MATCH_LATENCY", "50"))
COST_BATCHES = int(os.environ.get("CDP_BENCH_MATCH_COST_BATCHES", "20"))
# The parts to run (all by default): accuracy, full (the full pass and then the
# incremental matcher's latency on its profiles), cost.
ONLY = os.environ.get("CDP_BENCH_MATCH_ONLY", "accuracy,full,cost").split(",")
BATCH = 500
SOURCES = {"crm": "crm_id", "shop": "user_id", "erp": "loyalty_card"}


def run() -> list[Row]:
    no_processing_tasks()
    sources = {name: _source(name, kind) for name, kind in SOURCES.items()}
    rows = []
    if "accuracy" in ONLY:
        rows += _accuracy(sources)
        _clear_profiles()
        with _contacts_as_evidence():
            rows += _accuracy(sources, contacts_link=False)
        _clear_profiles()  # the full pass starts from profiles alone
    if "full" in ONLY:
        rows += _full_pass()
        rows += _incremental(sources)  # on the full pass's profiles
    if "cost" in ONLY:
        rows += _ingestion_cost(sources)
    return rows


def _source(name: str, kind: str):
    source = collect.create_source(name=f"Matching bench {name}", kind="server")
    set_source_user_id_kind(source=source, kind_name=kind)
    return source


# -- accuracy -------------------------------------------------------------------------


def _clear_profiles() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE profiles_profile, profiles_matchcandidate CASCADE")


@contextmanager
def _contacts_as_evidence():
    """E-mail and phone kept as traits the matcher compares, not identifiers that link:
    households share them (a family e-mail, a landline), and deterministic resolution then
    joins the family into one profile, which no matcher can undo (measured: most of the
    pairs deterministic resolution gets wrong are these)."""
    kinds = IdentifierKind.objects.filter(name__in=["email", "phone"])
    kept = dict(kinds.values_list("name", "trait_keys"))
    kinds.update(trait_keys=[])
    try:
        yield
    finally:
        for name, keys in kept.items():
            IdentifierKind.objects.filter(name=name).update(trait_keys=keys)


def _accuracy(sources, *, contacts_link: bool = True) -> list[Row]:
    people = lookalikes.people(PEOPLE, seed=101)
    records = lookalikes.sourced(people, seed=102)
    prefix = "" if contacts_link else "alone-"  # new user and message ids for the rerun
    # (source, user id in that source, person, traits)
    messages = [
        (name, f"{prefix}{name}-{person}", person, traits) for person, name, traits in records
    ]
    _ingest(sources, messages, label="accuracy records")
    truth = [m[2] for m in messages]
    before = _linked(messages)
    owners = _owners(messages)  # each profile's person, before the pass
    deterministic = _scores(before, truth)
    print(f"  deterministic: {deterministic}", flush=True)
    _enable()
    started = time.perf_counter()
    model = services.train()
    train_s = time.perf_counter() - started
    run = services.run_pass(run_id=services.start_run(kind=MatchRun.Kind.FULL).pk)
    assert run.status == MatchRun.Status.DONE, run.error
    after = _linked(messages)
    matched = _scores(after, truth)
    added = after - before  # the links the auto-merges made
    actual = _pairs(truth)
    added_precision = len(added & actual) / len(added) if added else 1.0
    queued = MatchCandidate.objects.filter(status="pending").count()
    merges = list(
        Merge.objects.filter(reason="probabilistic").values_list("survivor_id", "merged_id")
    )
    right = sum(1 for a, b in merges if owners.get(a) == owners.get(b))
    print(
        f"  probabilistic merges: {right:,} of {len(merges):,} join profiles of one person "
        f"(each profile's person: most of its records')",
        flush=True,
    )
    print(
        f"  with matching: {matched}; the auto-merges added {len(added):,} links, "
        f"precision {added_precision:.4f}; queued {queued:,}; model v{model.pk} trained "
        f"in {train_s:.1f}s on {model.profiles_used:,} profiles",
        flush=True,
    )
    label = f"{PEOPLE:,} people, {len(records):,} records"
    if not contacts_link:
        label += ", e-mail and phone as the matcher's evidence only"
    pct = 100.0  # precision, recall and F1 in %: the table prints one decimal
    return [
        Row(f"Precision, deterministic + auto-merges ({label})", matched[0] * pct, "%",
            "deterministic resolution alone", deterministic[0] * pct),
        Row(f"Recall, deterministic + auto-merges ({label})", matched[1] * pct, "%",
            "deterministic resolution alone", deterministic[1] * pct),
        Row(f"F1, deterministic + auto-merges ({label})", matched[2] * pct, "%",
            "deterministic resolution alone", deterministic[2] * pct),
        Row(f"Auto-merges joining profiles of one person ({len(merges):,} merges, {label})",
            100.0 * right / max(len(merges), 1), "%", "(no baseline)", 0.0, ">= 99 %",
            show_ratio=False),
        Row(f"Precision of the {len(added):,} record pairs the auto-merges linked ({label})",
            added_precision * pct, "%", "(no baseline)", 0.0, show_ratio=False),
        Row(f"Pairs waiting for review ({label})", queued, "pairs",
            "auto-merges of the pass", run.merged, show_ratio=False),
    ]  # fmt: skip


def _ingest(sources, messages, *, label: str) -> None:
    for start in range(0, len(messages), BATCH):
        by_source: dict[str, list] = {}
        for name, user_id, _, traits in messages[start : start + BATCH]:
            by_source.setdefault(name, []).append(
                {"type": "identify", "userId": user_id, "traits": traits,
                 "messageId": f"m-{user_id}"}
            )  # fmt: skip
        for name, batch in by_source.items():
            collect.ingest_messages(source_id=sources[name].id, messages=batch)
        while processing.process_inbox_batch():
            pass
        progress(min(start + BATCH, len(messages)), len(messages), label)


def _linked(messages) -> set[tuple[int, int]]:
    """Pairs of records (by index) that ended in one profile."""
    profile_of = dict(
        Identity.objects.filter(value__in=[m[1] for m in messages]).values_list(
            "value", "profile_id"
        )
    )
    return _pairs([profile_of.get(m[1]) for m in messages])


def _owners(messages) -> dict[int, int]:
    """Each profile's person: the one most of its records belong to (deterministic
    resolution may have joined two, through a family e-mail)."""
    profile_of = dict(
        Identity.objects.filter(value__in=[m[1] for m in messages]).values_list(
            "value", "profile_id"
        )
    )
    votes: dict[int, Counter] = {}
    for _, user_id, person, _ in messages:
        if user_id in profile_of:
            votes.setdefault(profile_of[user_id], Counter())[person] += 1
    return {profile: count.most_common(1)[0][0] for profile, count in votes.items()}


def _scores(predicted, truth) -> tuple[float, float, float]:
    """Pairwise precision, recall, F1 over records."""
    actual = _pairs(truth)
    right = len(predicted & actual)
    precision = right / len(predicted) if predicted else 1.0
    recall = right / len(actual) if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return round(precision, 4), round(recall, 4), round(f1, 4)


def _pairs(labels) -> set[tuple[int, int]]:
    groups: dict = {}
    for index, label in enumerate(labels):
        if label is not None:
            groups.setdefault(label, []).append(index)
    return {pair for members in groups.values() for pair in itertools.combinations(members, 2)}


def _enable() -> None:
    MatchSettings.objects.filter(pk=MatchSettings.load().pk).update(enabled=True)


# -- the full pass ----------------------------------------------------------------------

PROFILE_COPY = (
    "COPY profiles_profile (traits, display_name, stage, computed, consent, email_confirmed, "
    "restricted, created_at, updated_at) FROM STDIN"
)


def _full_pass() -> list[Row]:
    people = lookalikes.people(PROFILES, seed=201)
    written = lookalikes.records(people, seed=202, per_person=(1,))
    extra = lookalikes.records(people[: int(PROFILES * DUPLICATES)], seed=203, per_person=(1,))
    _copy_profiles([traits for _, traits in written + extra])
    Merge.objects.all().delete()
    started = time.perf_counter()
    model = services.train()  # on this population: its own chance that two are one
    train_s = time.perf_counter() - started
    current = MatchSettings.load()
    chosen = selectors.definition(current)
    started = time.perf_counter()
    rows = list(selectors.matcher_rows(chosen))
    export_s = time.perf_counter() - started
    started = time.perf_counter()
    engine.score(rows, model=model.splink, threshold=current.review_threshold,
                 vetoes=chosen.vetoes, limits=selectors.limits(current))  # fmt: skip
    splink_s = time.perf_counter() - started
    del rows
    started = time.perf_counter()
    run = services.run_pass(run_id=services.start_run(kind=MatchRun.Kind.FULL).pk)
    pass_s = time.perf_counter() - started
    assert run.status == MatchRun.Status.DONE, run.error
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    truth = _full_pass_precision(len(written))
    print(f"  full pass: {run.profiles:,} profiles, {run.pairs:,} pairs, {run.merged:,} merged "
          f"({truth}), "
          f"{run.queued:,} queued; export alone {export_s:.1f}s; peak {peak_gb:.1f} GB",
          flush=True)  # fmt: skip
    label = f"{len(written) + len(extra):,} profiles"
    return [
        Row(f"Full pass over {label} (export, score, merge {run.merged:,}, queue)", pass_s / 60,
            "min", "Splink alone predicting on the exported rows", splink_s / 60, "<= 15 min"),
        Row(f"Training a model on {label}", train_s / 60, "min", "the pass", pass_s / 60),
        Row(f"Peak memory of the process running the pass ({label})", peak_gb, "GB",
            "(no baseline)", 0.0, "<= 8 GB", show_ratio=False),
    ]  # fmt: skip


def _full_pass_precision(written: int) -> str:
    """How many of the pass's merges joined a duplicate to its person: profiles were
    written in order, the first ``written`` one per person, then the duplicates of the
    first people in the same order, so profile n (n >= written) is person n - written."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM profiles_profile")
        (first,) = cursor.fetchone()
    merges = list(Merge.objects.values_list("survivor_id", "merged_id"))

    def person(profile_id: int) -> int:
        n = profile_id - first
        return n - written if n >= written else n

    right = sum(1 for a, b in merges if person(a) == person(b))
    return f"{right:,} of {len(merges):,} merges right"


def _copy_profiles(traits_list: list[dict]) -> None:
    with connection.cursor() as cursor, cursor.cursor.copy(PROFILE_COPY) as copy:
        for n, traits in enumerate(traits_list):
            copy.write_row((json.dumps(traits), "", "", "{}", "{}", True, False, "now", "now"))
            if n % 50000 == 0:
                progress(n, len(traits_list), "profiles")
    progress(len(traits_list), len(traits_list), "profiles")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE profiles_profile")


# -- incremental ----------------------------------------------------------------------


def _incremental(sources) -> list[Row]:
    _enable()  # else the matcher skips every change (CDP_BENCH_MATCH_ONLY=full runs no accuracy)
    current = MatchSettings.load()
    chosen = selectors.definition(current)
    model = selectors.latest_model()
    started = time.perf_counter()
    incremental.warm_index(current=current, chosen=chosen, model=model)
    warm_s = time.perf_counter() - started
    incremental.match_changed_profiles()
    people = lookalikes.people(PROFILES, seed=201)[:LATENCY_TRIALS]
    again = lookalikes.records(people, seed=301, per_person=(1,))
    seconds = []
    for n, (person, traits) in enumerate(again):
        started = time.perf_counter()
        message = {"type": "identify", "userId": f"late-{person}-{n}", "traits": traits,
                   "messageId": f"late-{n}"}  # fmt: skip
        collect.ingest_messages(source_id=sources["shop"].id, messages=[message])
        while processing.process_inbox_batch():
            pass
        incremental.match_changed_profiles()
        seconds.append(time.perf_counter() - started)
    p50, p95 = percentile(seconds, 50), percentile(seconds, 95)
    print(f"  incremental: warm index built in {warm_s:.1f}s; p50 {p50:.2f}s", flush=True)
    return [
        Row("A new profile scored and merged or queued (ingest to commit), p95", p95, "s",
            "p50", p50, "<= 2 s"),
    ]  # fmt: skip


# -- cost to ingestion ------------------------------------------------------------------


def _ingestion_cost(sources) -> list[Row]:
    """Batches processed with the matcher's trigger connected and disconnected in turn,
    each pair a second apart: the sums, and the median of each pair's cost (a burst of
    others' load on a shared machine moves a few pairs, not their median)."""
    people = lookalikes.people(COST_BATCHES * BATCH * 2, seed=401)
    records = lookalikes.records(people, seed=402, per_person=(1,))
    timed: dict[bool, list[float]] = {True: [], False: []}
    for index in range(COST_BATCHES * 2):
        connected = index % 2 == 0
        if not connected:
            profile_changed.disconnect(dispatch_uid="matching")
        batch = records[index * BATCH : (index + 1) * BATCH]
        messages = [
            {"type": "identify", "userId": f"cost-{p}", "traits": t, "messageId": f"cost-{p}"}
            for p, t in batch
        ]
        collect.ingest_messages(source_id=sources["crm"].id, messages=messages)
        started = time.perf_counter()
        while processing.process_inbox_batch():
            pass
        timed[connected].append(time.perf_counter() - started)
        if not connected:
            profile_changed.connect(incremental.trigger, dispatch_uid="matching")
        progress(index + 1, COST_BATCHES * 2, "cost batches")
    events = COST_BATCHES * BATCH
    on, off = events / sum(timed[True]), events / sum(timed[False])
    paired = [100 * (a / b - 1) for a, b in zip(timed[True], timed[False], strict=True)]
    median = percentile(paired, 50)
    print(f"  ingestion cost: {100 * (1 - on / off):.1f} % summed, {median:.1f} % in the "
          f"median of {len(paired)} pairs of batches", flush=True)  # fmt: skip
    return [
        Row("Processing identify events with the matcher's trigger connected", on, "ev/s",
            "the same without it", off, "cost <= 5 %"),
        Row("Cost of the matcher's trigger to processing, median of pairs of batches", median,
            "%", "disconnected", 0.0, "<= 5 %", show_ratio=False),
    ]  # fmt: skip
