""" "Who is this person now": one selector every app asks (profiles.selectors)."""

import pytest

from profiles import selectors
from profiles.models import Profile

pytestmark = pytest.mark.django_db


def test_a_profile_merged_twice_leads_to_the_last_survivor():
    first, second, third = (Profile.objects.create() for _ in range(3))
    Profile.objects.filter(pk=first.pk).update(merged_into=second)
    Profile.objects.filter(pk=second.pk).update(merged_into=third)
    assert selectors.surviving_profile(profile_id=first.pk) == third
    assert selectors.active_profile_id(profile_id=first.pk) == third.pk
    assert selectors.surviving_profile(profile_id=third.pk) == third


def test_an_unknown_profile_has_no_survivor():
    assert selectors.surviving_profile(profile_id=987654321) is None
    assert selectors.active_profile_id(profile_id=987654321) is None
