"""Fixtures of the matching tests: a population of profiles and a model trained on
people like them (trained once per session: training is what takes the seconds)."""

import pytest

from demo import lookalikes
from profiles.matching import engine, selectors
from profiles.matching.fields import standard_row
from profiles.models import MatchModel, Profile
from tests.profiles.conftest import backend, crm, send  # noqa: F401 (fixtures shared)

PEOPLE = lookalikes.people(1500, seed=41)
# What the model is trained on: each person held by one to three sources.
RECORDS = lookalikes.records(PEOPLE, seed=43)
# What the database holds around each test's own people: one profile each, so that a
# pass has thousands of profiles to block and score but merges only the test's pairs.
CROWD = [traits for _, traits in lookalikes.records(PEOPLE, seed=44, per_person=(1,))]


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
