"""Fixtures of the matching tests: a population of profiles and a model trained on
people like them (trained once per session: training is what takes the seconds)."""

import pytest
from django.core.cache import cache

from cdp_site.celery import app
from demo import lookalikes
from profiles.matching import engine, jobs, selectors
from profiles.matching.fields import standard_row
from profiles.models import MatchCandidate, MatchModel, Profile
from tests.profiles.conftest import backend, crm, send  # noqa: F401 (fixtures shared)

PEOPLE = lookalikes.people(1500, seed=41)
# What the model is trained on: each person held by one to three sources.
RECORDS = lookalikes.records(PEOPLE, seed=43)
# What the database holds around each test's own people: one profile each, so that a
# pass has thousands of profiles to block and score but merges only the test's pairs.
CROWD = [traits for _, traits in lookalikes.records(PEOPLE, seed=44, per_person=(1,))]


# The same person in the CRM and in the shop: no identifier in common.
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
def trained():
    """A model trained once for the session on the population's rows (training is what
    takes the seconds; services.train is tested on its own below)."""
    rows = [standard_row(traits) | {engine.ID: i} for i, (_, traits) in enumerate(RECORDS)]
    return engine.train(rows)


@pytest.fixture
def population(db):
    """1,500 profiles, one per person, written straight to the table (only their traits
    matter to the matcher)."""
    Profile.objects.bulk_create([Profile(traits=traits) for traits in CROWD], batch_size=2000)
    return len(CROWD)


@pytest.fixture
def model(population, trained):
    chosen = selectors.definition()
    return MatchModel.objects.create(
        definition=chosen.as_json(),
        signature=chosen.signature,
        splink=trained,
        profiles_used=population,
        seconds=0,
    )


@pytest.fixture
def match_model(db, trained):
    """The trained model stored as the latest version, fitting the current settings,
    without the population around it (the pages' and the API's tests)."""
    chosen = selectors.definition()
    return MatchModel.objects.create(
        definition=chosen.as_json(),
        signature=chosen.signature,
        splink=trained,
        profiles_used=len(RECORDS),
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
