"""The demo company's segments are valid rules, created once."""

import pytest

from demo.segment_setup import DEMO_SEGMENTS, ensure_demo_segments
from segments.models import Segment

pytestmark = pytest.mark.django_db


def test_demo_segments_are_created_once_with_valid_rules(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        created = ensure_demo_segments()
    assert len(created) == len(DEMO_SEGMENTS)
    assert ensure_demo_segments() == []
    assert Segment.objects.count() == len(DEMO_SEGMENTS)
    jackets = Segment.objects.get(name="Considering jackets")
    assert jackets.depends_on == ["events"] and jackets.slides
