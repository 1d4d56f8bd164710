"""Matching passes on the real database: a pair above the auto-merge threshold is merged
through the ledger (and can be undone, and is then never merged again), a pair held back
waits for review with why, a dry run changes nothing, and one pass runs at a time."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from demo import lookalikes
from profiles.matching import progress, services
from profiles.matching.decide import UNIQUE_IDENTIFIER
from profiles.models import MatchCandidate, MatchRun, Merge, Profile
from profiles.services import unmerge
from tests.profiles.conftest import message, profile_of

from .conftest import JOHN, JON

pytestmark = pytest.mark.django_db(transaction=True)

JON_CRM, JOHN_SHOP = JON, JOHN  # the same person in the CRM and the shop


def run(kind=MatchRun.Kind.FULL):
    started = services.start_run(kind=kind)
    return services.run_pass(run_id=started.pk)


def test_the_same_person_in_the_crm_and_the_shop_is_merged_and_the_merge_can_be_undone(
    model, crm, backend, send
):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    send(backend, message("identify", userId="shop-77", traits=JOHN_SHOP))
    jon, john = profile_of("crm_id", "CRM-1"), profile_of("user_id", "shop-77")
    assert jon.pk != john.pk

    finished = run()

    assert finished.status == MatchRun.Status.DONE, finished.error
    assert finished.merged == 1
    merge = Merge.objects.get(merged_id__in=[jon.pk, john.pk], survivor_id__in=[jon.pk, john.pk])
    assert merge.reason == Merge.Reason.PROBABILISTIC
    assert merge.score >= 0.998 and merge.model_version == model.pk

    unmerge(merge_id=merge.pk, actor=None)
    again = run()
    assert not Merge.objects.filter(
        undone_at__isnull=True, merged_id__in=[jon.pk, john.pk], survivor_id__in=[jon.pk, john.pk]
    ).exists()
    assert again.held.get("decided", 0) >= 1


def test_two_different_crm_ids_are_never_merged_however_alike(model, crm, send):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    send(crm, message("identify", userId="CRM-2", traits=dict(JON_CRM, firstName="John")))
    one, two = profile_of("crm_id", "CRM-1"), profile_of("crm_id", "CRM-2")

    finished = run()

    assert finished.held.get(UNIQUE_IDENTIFIER, 0) >= 1
    assert Profile.objects.get(pk=one.pk).merged_into_id is None
    assert Profile.objects.get(pk=two.pk).merged_into_id is None
    queued = MatchCandidate.objects.get(low_id=min(one.pk, two.pk), high_id=max(one.pk, two.pk))
    assert queued.status == MatchCandidate.Status.PENDING
    assert UNIQUE_IDENTIFIER in queued.held_by
    explained = services.explanation(queued)
    assert {step.comparison for step in explained.steps} >= {"first_name", "surname", "address"}
    total = explained.prior + sum(step.weight for step in explained.steps)
    assert total == pytest.approx(queued.weight, abs=0.01)


def test_a_household_waits_for_review_with_the_vetoes_that_held_it(model, crm, send):
    home = {k: v for k, v in JON_CRM.items() if k in ("lastName", "address", "phone")}
    send(
        crm,
        message(
            "identify", userId="CRM-1", traits=dict(home, firstName="Maria", birthday="1961-04-02")
        ),
    )
    send(
        crm,
        message(
            "identify", userId="CRM-2", traits=dict(home, firstName="Thomas", birthday="1992-11-20")
        ),
    )
    maria, thomas = profile_of("crm_id", "CRM-1"), profile_of("crm_id", "CRM-2")

    run()

    pair = MatchCandidate.objects.filter(
        low_id=min(maria.pk, thomas.pk), high_id=max(maria.pk, thomas.pk)
    ).first()
    if pair is not None:  # scored above the review threshold: held, never merged
        assert {"veto:first_name", "veto:birth_date"} <= set(pair.held_by)
    assert Profile.objects.get(pk=thomas.pk).merged_into_id is None
    assert Profile.objects.get(pk=maria.pk).merged_into_id is None


def test_a_dry_run_reports_what_would_merge_and_changes_nothing(model, crm, backend, send):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    send(backend, message("identify", userId="shop-77", traits=JOHN_SHOP))
    before = Merge.objects.count(), MatchCandidate.objects.count()

    report = run(MatchRun.Kind.DRY_RUN)

    assert report.status == MatchRun.Status.DONE, report.error
    assert report.merged > 0 and report.queued >= 0
    assert any(s["outcome"] == "merge" for s in report.samples)
    assert (Merge.objects.count(), MatchCandidate.objects.count()) == before


def test_a_second_pass_is_refused_while_one_runs(model):
    services.start_run(kind=MatchRun.Kind.FULL)
    with pytest.raises(services.MatchingError) as refused:
        services.start_run(kind=MatchRun.Kind.INCREMENTAL)
    assert refused.value.field == "run"


def test_a_model_trained_on_other_fields_is_refused_until_retrained(model):
    services.update_settings(
        comparisons=[
            {"field": "first_name", "method": "name"},
            {"field": "surname", "method": "name"},
            {"field": "birth_date", "method": "date"},
        ],
        blocking=[["surname", "birth_date"]],
    )
    with pytest.raises(services.MatchingError) as refused:
        services.start_run(kind=MatchRun.Kind.FULL)
    assert refused.value.field == "model" and "retrain" in refused.value.reason
    services.train()
    assert services.start_run(kind=MatchRun.Kind.FULL).status == MatchRun.Status.RUNNING


def test_a_rejected_pair_is_not_suggested_again_and_an_accepted_one_is_merged(model, crm, send):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    send(crm, message("identify", userId="CRM-2", traits=dict(JON_CRM, firstName="John")))
    run()
    pending = list(MatchCandidate.objects.filter(status="pending")[:2])
    assert len(pending) == 2
    rejected = services.reject(candidate_id=pending[0].pk, actor=None)
    accepted = services.accept(candidate_id=pending[1].pk, actor=None)

    assert Profile.objects.get(pk=accepted.high_id).merged_into_id == accepted.low_id
    with pytest.raises(services.MatchingError):
        services.reject(candidate_id=rejected.pk, actor=None)
    run()
    rejected.refresh_from_db()
    assert rejected.status == MatchCandidate.Status.REJECTED


def test_training_on_too_few_profiles_is_refused_with_how_many_there_are(db):
    Profile.objects.bulk_create(
        [Profile(traits=t) for _, t in lookalikes.records(lookalikes.people(50), seed=2)]
    )
    with pytest.raises(services.MatchingError) as refused:
        services.train()
    assert refused.value.field == "profiles"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mapping": {"shoe": ["size"]}}, "mapping"),
        ({"comparisons": [{"field": "surname", "method": "soundex"}]}, "comparisons"),
        ({"review_threshold": 0.999, "auto_merge_threshold": 0.99}, "review_threshold"),
        ({"phone_region": "Netherlands"}, "phone_region"),
        ({"memory_limit": "lots"}, "memory"),
        ({"vetoes": ["shoe"]}, "vetoes"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_their_field(db, changes, field):
    with pytest.raises(services.MatchingError) as refused:
        services.update_settings(**changes)
    assert refused.value.field == field


def test_a_settings_change_is_audited_with_before_and_after(db):
    services.update_settings(auto_merge_threshold=0.999)
    with connection.cursor() as cursor:
        # The newest: a transactional test's flush may leave earlier tests' audit rows.
        cursor.execute(
            "SELECT details FROM cdp_site_auditentry WHERE action = 'matching.settings' "
            "ORDER BY id DESC LIMIT 1"
        )
        (details,) = cursor.fetchone()
    assert "0.999" in str(details)


def test_a_placeholder_phone_shared_by_many_is_capped_and_reported_not_exploded(model):
    placeholder = "+1 415 555 0100"
    Profile.objects.bulk_create(
        [
            Profile(traits={"firstName": f"P{i}", "lastName": f"Q{i}", "phone": placeholder})
            for i in range(600)
        ]
    )
    services.update_settings(max_block=200)

    finished = run()

    assert finished.status == MatchRun.Status.DONE, finished.error
    assert finished.capped == {"phone": ["+14155550100"]}
    assert finished.merged == 0


def test_names_in_other_scripts_and_profiles_with_nothing_to_compare_pass_through(model):
    Profile.objects.bulk_create(
        [
            Profile(traits={"firstName": "Ольга", "lastName": "Иванова", "birthday": "31/02/1984",
                            "email": "olga@example.ru"}),
            Profile(traits={"firstName": "Ольга", "lastName": "Иванова", "birthday": "1900-01-01",
                            "email": "olga@example.ru"}),
            Profile(traits={"plan": "gold"}),
            Profile(traits={}),
        ]
    )  # fmt: skip

    finished = run()

    assert finished.status == MatchRun.Status.DONE, finished.error
    assert finished.merged == 1  # the two Olgas: same name and e-mail; neither birth date is read


def test_what_only_an_unverified_website_call_asserted_never_counts_towards_an_auto_merge(
    model, crm, send
):
    from integrations import services as collect
    from integrations.models import Source
    from tests.profiles.conftest import drain

    website = collect.create_source(name="Shop site", kind=Source.Kind.WEBSITE)
    collect.update_source(source=website, require_verification=False)
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    unsigned = message("identify", anonymousId="device-9", traits=JOHN_SHOP)
    collect.ingest_messages(source_id=website.id, messages=[unsigned])
    drain()
    jon, visitor = profile_of("crm_id", "CRM-1"), profile_of("anonymous_id", "device-9")
    assert jon.pk != visitor.pk

    finished = run()

    assert Profile.objects.get(pk=visitor.pk).merged_into_id is None
    assert finished.held.get("unverified", 0) >= 1
    queued = MatchCandidate.objects.get(
        low_id=min(jon.pk, visitor.pk), high_id=max(jon.pk, visitor.pk)
    )
    assert "unverified" in queued.held_by


def test_a_pass_whose_worker_was_lost_blocks_no_new_one(model):
    from datetime import timedelta

    from django.utils import timezone

    lost = services.start_run(kind=MatchRun.Kind.FULL)
    MatchRun.objects.filter(pk=lost.pk).update(started_at=timezone.now() - timedelta(hours=2))

    fresh = services.start_run(kind=MatchRun.Kind.FULL)

    lost.refresh_from_db()
    assert lost.status == MatchRun.Status.FAILED and "lost" in lost.error
    assert fresh.status == MatchRun.Status.RUNNING


def test_a_pass_reports_each_phase_and_counts_its_merges_to_the_planned_total(
    model, crm, backend, send
):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    send(backend, message("identify", userId="shop-77", traits=JOHN_SHOP))
    told = []
    started = services.start_run(kind=MatchRun.Kind.FULL)

    finished = services.run_pass(run_id=started.pk, listener=lambda *step: told.append(step))

    phases = [phase for phase, _, _ in told]
    assert list(dict.fromkeys(phases)) == [
        progress.READING,
        progress.SCORING,
        progress.DECIDING,
        progress.QUEUEING,
        progress.MERGING,
    ]
    assert told[-1] == (progress.MERGING, finished.merged, finished.merged) and finished.merged
    stored = MatchRun.objects.get(pk=finished.pk)
    assert (stored.phase, stored.done, stored.total) == told[-1]
    assert told[phases.index(progress.SCORING)][2] == stored.profiles


def test_the_match_pass_command_runs_a_pass_and_says_what_it_merged(model, crm, backend, send):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    send(backend, message("identify", userId="shop-77", traits=JOHN_SHOP))
    out = io.StringIO()

    call_command("match_pass", stdout=out)

    said = out.getvalue()
    assert "Merging 1 / 1" in said and ", merged 1, " in said
    assert MatchRun.objects.get().status == MatchRun.Status.DONE


def test_the_match_pass_command_refuses_while_a_pass_runs(model):
    services.start_run(kind=MatchRun.Kind.FULL)
    with pytest.raises(CommandError, match="running"):
        call_command("match_pass", stdout=io.StringIO())
