"""Write keys: rotation with a grace period, and the per-source rate limit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import services
from integrations.collect import keys
from integrations.models import Event

pytestmark = pytest.mark.django_db


def message():
    return {"userId": "u1", "event": "Viewed"}


def test_rotated_key_keeps_the_old_one_working_until_the_grace_ends(post, source):
    old = source.write_key
    services.rotate_write_key(source=source, grace=timedelta(hours=1))
    assert source.write_key != old
    assert post("/v1/track", message(), key=old).status_code == 200
    assert post("/v1/track", message(), key=source.write_key).status_code == 200
    source.previous_key_valid_until = timezone.now() - timedelta(seconds=1)
    source.save()
    keys.clear_cache()
    assert post("/v1/track", message(), key=old).status_code == 401
    assert Event.objects.count() == 2


def test_rotation_without_grace_retires_the_old_key_at_once(post, source):
    old = source.write_key
    services.rotate_write_key(source=source, grace=timedelta(0))
    assert post("/v1/track", message(), key=old).status_code == 401


def test_over_the_rate_limit_is_a_429_with_retry_after(post, source):
    services.update_source(source=source, rate_limit=3)
    batch = {"batch": [{"type": "track", **message()}] * 2}
    statuses = [post("/v1/batch", batch, key=source.write_key).status_code for _ in range(3)]
    # Two requests could straddle a second boundary, hence "some" rather than "the second".
    assert 429 in statuses
    limited = post(
        "/v1/batch", {"batch": [{"type": "track", **message()}] * 4}, key=source.write_key
    )
    assert limited.status_code == 429
    assert limited["Retry-After"] == "1"
    assert limited.json()["code"] == "rate_limited"
