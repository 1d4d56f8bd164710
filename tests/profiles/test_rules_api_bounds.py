"""The rules API refuses what its columns and the dry run cannot hold with a 400 naming
the field, instead of failing inside (found by the schema fuzzer)."""

import pytest

from cdp_site.permissions import ADMIN
from profiles.identifiers import load_rules
from profiles.models import ComputedTrait, StageRule

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def api(client_as):
    load_rules()
    return client_as(ADMIN)


def _fields(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


def test_a_null_in_the_proposed_blocked_list_is_a_field_error(api):
    response = api.post("/api/v1/identity-rules/dry-run/", {"blocked": [None]}, content_type=JSON)
    assert "blocked" in _fields(response)


def test_a_null_blocked_list_still_means_keep_todays(api):
    response = api.post("/api/v1/identity-rules/dry-run/", {"blocked": None}, content_type=JSON)
    assert response.status_code == 200, response.content


def test_a_priority_past_its_column_is_a_field_error_in_the_dry_run(api):
    response = api.post(
        "/api/v1/identity-rules/dry-run/",
        {"kinds": {"email": {"priority": 40_000}}},
        content_type=JSON,
    )
    assert "priority" in str(_fields(response)["kinds"])


def test_a_stage_rule_count_past_the_integer_range_is_a_field_error(api):
    rule = StageRule.objects.get(stage="retention")
    response = api.patch(
        f"/api/v1/stage-rules/{rule.pk}/", {"min_count": 2_147_483_648}, content_type=JSON
    )
    assert "min_count" in _fields(response)
    rule.refresh_from_db()
    assert rule.min_count != 2_147_483_648


def test_a_stage_rule_wait_of_more_days_than_a_date_holds_is_a_field_error(api):
    rule = StageRule.objects.get(stage="lapsed")
    response = api.patch(
        f"/api/v1/stage-rules/{rule.pk}/", {"quiet_days": 1_000_000_000}, content_type=JSON
    )
    assert "quiet_days" in _fields(response)


def test_a_computed_trait_window_longer_than_a_timedelta_is_a_field_error(api):
    response = api.post(
        "/api/v1/computed-traits/",
        {
            "key": "orders",
            "label": "Orders",
            "event_name": "Order Completed",
            "aggregation": "count",
            "window_days": 2_147_483_647,
        },
        content_type=JSON,
    )
    assert "window_days" in _fields(response)
    assert not ComputedTrait.objects.filter(key="orders").exists()
