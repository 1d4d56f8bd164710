"""The stage-flow rollup always equals a count of the stage history: after processing,
a merge, an unmerge, an erased history, a backfill and a compaction."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from insights import services
from insights.models import StageFlow, StageSpell
from insights.selectors import stage_flow_differences
from profiles.models import StageChange
from profiles.services import backfill_stage_history, merge_profiles, unmerge
from tests.profiles.conftest import T0, profile_of

pytestmark = pytest.mark.django_db


def test_processing_merging_unmerging_and_erasing_keep_the_rollup_exact(journeys, make_user):
    assert StageFlow.objects.exists() and stage_flow_differences() == []
    merge = merge_profiles(
        survivor_id=profile_of("user_id", "u2").pk,
        merged_id=profile_of("user_id", "u4").pk,
        actor=make_user("Admin"),
    )
    assert stage_flow_differences() == []
    unmerge(merge_id=merge.pk, actor=make_user("Account manager"))
    assert stage_flow_differences() == []
    # What an erasure does to a person's history (the privacy issue will delete profiles).
    StageChange.objects.filter(profile=profile_of("user_id", "early")).delete()
    assert stage_flow_differences() == []
    backfill_stage_history()
    assert stage_flow_differences() == []


def test_compaction_sums_the_appended_rows_without_changing_a_total(journeys):
    before = sorted(StageFlow.objects.values_list("from_stage", "to_stage").distinct())
    StageChange.objects.all().delete()
    backfill_stage_history()  # every move taken off and added again: many rows
    rows_before = StageFlow.objects.count() + StageSpell.objects.count()
    read, kept = services.compact_stage_flows()
    rows_after = StageFlow.objects.count() + StageSpell.objects.count()
    assert read == rows_before and kept == rows_after < rows_before
    assert stage_flow_differences() == []
    assert not StageFlow.objects.filter(moves=0).exists()
    assert not StageSpell.objects.filter(moves=0).exists()
    assert sorted(StageFlow.objects.values_list("from_stage", "to_stage").distinct()) == before


def test_verify_insights_says_when_the_rollup_and_the_history_differ(journeys, capsys):
    call_command("verify_insights")
    assert "the rollup equals the stage history" in capsys.readouterr().out
    flow = StageFlow.objects.first()
    StageFlow.objects.create(
        hour=flow.hour,
        from_stage=flow.from_stage,
        to_stage=flow.to_stage,
        moves=1,
    )
    with pytest.raises(CommandError, match="1 groups differ"):
        call_command("verify_insights")
    assert "history" in capsys.readouterr().out


BEFORE = [("insights", None), ("profiles", "0006_source_trust")]


def test_upgrading_fills_the_rollup_from_the_history_there_is(db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE[1:]).apps
    profile_model, change_model = (
        old.get_model("profiles", "Profile"),
        old.get_model("profiles", "StageChange"),
    )
    kept, merged = profile_model.objects.create(), profile_model.objects.create()
    merged.merged_into_id = kept.pk
    merged.save()
    for profile, stages in (
        (kept, ["", "orientation", "retention"]),
        (merged, ["", "orientation"]),
    ):
        for i, (a, b) in enumerate(zip(stages, stages[1:], strict=False)):
            change_model.objects.create(
                profile_id=profile.pk, from_stage=a, to_stage=b, changed_at=T0 + timedelta(hours=i)
            )
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # see test_webhook_signatures
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert list(StageChange.objects.values_list("profile_id", flat=True).distinct()) == [kept.pk]
    assert stage_flow_differences() == []
    assert sorted(StageFlow.objects.values_list("from_stage", "to_stage", "moves")) == [
        ("", "orientation", 1),
        ("orientation", "retention", 1),
    ]
