"""The demo company's matching: switched on with a model trained on its own profiles and
a first pass queued, once; with too few profiles it stays off and says why."""

import pytest

from cdp_site.models import QueuedTask
from demo import lookalikes
from demo.matching_setup import enable_matching
from profiles.matching import jobs
from profiles.models import MatchModel, MatchRun, MatchSettings, Profile

pytestmark = pytest.mark.django_db


def profiles(people: int) -> int:
    records = lookalikes.records(lookalikes.people(people, seed=61), seed=62)
    Profile.objects.bulk_create([Profile(traits=traits) for _, traits in records])
    return len(records)


def test_the_demo_switches_matching_on_with_a_model_of_its_profiles_and_queues_a_pass():
    written = profiles(1200)
    said = []

    run = enable_matching(wait_seconds=0, say=said.append)

    model = MatchModel.objects.get()
    assert MatchSettings.load().enabled
    assert 1000 <= model.profiles_used <= written
    assert run.kind == MatchRun.Kind.FULL and run.status == MatchRun.Status.RUNNING
    assert run.model_id == model.pk
    assert QueuedTask.objects.filter(task=jobs.RUN_TASK, args=[run.pk]).exists()
    assert said[-1].startswith(f"Matching on: model v{model.pk} trained on ")

    assert enable_matching(wait_seconds=0, say=said.append) is None  # a second make demo
    assert MatchModel.objects.count() == 1 and MatchRun.objects.count() == 1
    assert "nothing to do" in said[-1]


def test_with_too_few_profiles_matching_stays_off_and_says_why():
    profiles(20)
    said = []

    assert enable_matching(wait_seconds=0, say=said.append) is None

    assert not MatchSettings.load().enabled and not MatchModel.objects.exists()
    assert said[-1].startswith("Matching stays off:") and "1,000" in said[-1]
