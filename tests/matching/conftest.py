import pytest
from django.core.cache import cache

from cdp_site.celery import app
from demo import lookalikes
from profiles.matching import engine, jobs, selectors
from profiles.matching.fields import standard_row
from profiles.models import MatchCandidate, MatchModel, Profile
from tests.profiles.conftest import backend, crm, send  # noqa: F401 (fixtures shared)

JON = {
    "firstName": "Jon",
    "lastName": "Vanderlinde",
    "birthday": "1984-03-02",
    "address": {"street": "12 Oak Street", "postalCode": "1012 AB", "city": "Amsterdam"},
    "email": "jon.vanderlinde@example.com",
    "phone": "+31 6 1234 5678",
}
JOHN = {
    "firstName": "John",
    "lastName": "Vanderlinde",
    "birthday": "02/03/1984",
    "address": {"street": "Oak St 12", "postalCode": "1012AB", "city": "amsterdam"},
    "email": "jvdl@work.example",
}


@pytest.fixture(autouse=True)
def _no_training_remembered():
    """Training's state lives in the cache (Redis, shared by a worker's tests)."""
    cache.delete(jobs.TRAINING_KEY)
    yield
    cache.delete(jobs.TRAINING_KEY)


@pytest.fixture
def eager():
    """Tasks run where they are queued (the tests are about the pages and the API)."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(scope="session")
def trained_splink():
    """A model trained once per test process on 1,500 lookalike people (training is what
    takes the seconds): the pages' and the API's tests store it as a version."""
    records = lookalikes.records(lookalikes.people(1500, seed=41), seed=43)
    rows = [standard_row(traits) | {engine.ID: i} for i, (_, traits) in enumerate(records)]
    return engine.train(rows)


@pytest.fixture
def match_model(db, trained_splink):
    """The trained model stored as the latest version, fitting the current settings."""
    chosen = selectors.definition()
    return MatchModel.objects.create(
        definition=chosen.as_json(),
        signature=chosen.signature,
        splink=trained_splink,
        profiles_used=1500,
        seconds=2.5,
    )


@pytest.fixture
def queued_pair(match_model):
    """A factory: two profiles and their pair waiting for review, scored with the model
    (what a pass keeps: each comparison's level and weight)."""

    def make(left=JON, right=JOHN, held_by=("unique_identifier",)):
        one, two = Profile.objects.create(traits=left), Profile.objects.create(traits=right)
        rows = [dict(standard_row(t), **{engine.ID: p.pk}) for p, t in ((one, left), (two, right))]
        (pair,) = engine.score(rows, model=match_model.splink, threshold=0.0).pairs
        return MatchCandidate.objects.create(
            low_id=one.pk,
            high_id=two.pk,
            probability=pair.probability,
            weight=pair.weight,
            model=match_model,
            held_by=list(held_by),
            parts={n: [pair.levels.get(n), w] for n, w in pair.parts.items()},
        )

    return make
