"""Values that used to halt processing for everyone (the batch failed, was retried, and
failed forever) now go through it, and the ordinary events beside them become profiles."""

import dataclasses

import pytest
from django.utils import timezone

from integrations import services
from integrations.collect import keys, storage
from integrations.collect.messages import Row, prepare
from integrations.models import EventInbox, QuarantinedEvent
from profiles.models import ComputedTrait, ProfileEvent, StageChange, StageRule
from tests.support.signing import signed

from .conftest import drain, message, profile_of

pytestmark = pytest.mark.django_db


def five_ordinary_identifies():
    return [message("identify", userId=f"ordinary-{i}", traits={"plan": "basic"}) for i in range(5)]


def ingest_unprocessed(source, *messages):
    result = services.ingest_messages(source_id=source.id, messages=signed(source, *messages))
    assert result.stored == len(messages), result


def assert_everyone_processed():
    assert not EventInbox.objects.exists()
    assert not QuarantinedEvent.objects.exists()
    for i in range(5):
        assert profile_of("user_id", f"ordinary-{i}").traits["plan"] == "basic"


def stored_before_the_door_checked(source, body: dict, **fields) -> None:
    """Stores a message as the collection API did before it refused such values (rows
    already in the events table when the fix is deployed)."""
    (body,) = signed(source, body)
    row = prepare(
        body, type_=None, received_at=timezone.now(), trust=keys.source_by_id(source.id).trust
    )
    assert isinstance(row, Row), row
    storage.insert_rows(
        source_id=source.id, rows=[dataclasses.replace(row, **fields)], received_at=timezone.now()
    )


def test_a_stored_track_name_longer_than_200_characters_is_cut_not_fatal(web):
    long_name = "Viewed " + "x" * 300
    stored_before_the_door_checked(web, message(userId="long", event="short"), event=long_name)
    ingest_unprocessed(web, *five_ordinary_identifies())
    drain()
    assert_everyone_processed()
    assert ProfileEvent.objects.get(profile=profile_of("user_id", "long")).name == long_name[:200]


@pytest.mark.parametrize(
    "text",
    ["NaN", "1e999", "inf", "-Infinity", "9" * 400],
    ids=["NaN", "1e999", "inf", "-Infinity", "400 nines"],
)
def test_a_number_trait_sent_as_unholdable_text_is_kept_as_a_conflict(web, send, text):
    send(web, message("identify", userId="u1", traits={"ltv": 5}))
    ingest_unprocessed(web, message("identify", userId="u1", traits={"ltv": text}, minutes=1))
    ingest_unprocessed(web, *five_ordinary_identifies())
    drain()
    assert_everyone_processed()
    profile = profile_of("user_id", "u1")
    assert profile.traits["ltv"] == 5
    assert profile.trait_values.get(key="ltv", conflict=True).value == text


def test_a_sum_past_the_largest_float_leaves_the_computed_trait_empty(web):
    ComputedTrait.objects.create(
        key="revenue",
        label="Revenue",
        event_name="Order Completed",
        aggregation="sum",
        property="revenue",
    )
    huge = int("9" * 309)
    ingest_unprocessed(
        web,
        message(userId="big", event="Order Completed", properties={"revenue": huge}),
        message(userId="big", event="Order Completed", properties={"revenue": huge}),
        message(userId="small", event="Order Completed", properties={"revenue": 12}),
        *five_ordinary_identifies(),
    )
    drain()
    assert_everyone_processed()
    assert profile_of("user_id", "big").computed["revenue"] is None
    assert profile_of("user_id", "small").computed["revenue"] == 12


def test_a_stage_rule_naming_events_longer_than_a_reason_still_moves_profiles(web):
    names = [f"Quote Requested For Product Line {i:03d} With A Long Name" for i in range(8)]
    StageRule.objects.create(stage="acquisition", event_names=names)
    assert len(", ".join(names)) > 200
    ingest_unprocessed(web, message(userId="buyer", event=names[-1]), *five_ordinary_identifies())
    drain()
    assert_everyone_processed()
    change = StageChange.objects.get(profile=profile_of("user_id", "buyer"))
    assert change.to_stage == "acquisition"
    assert len(change.reason) <= 200 and change.reason.endswith("×1")
