"""Every registered journey step type (campaigns/step_types/) validates a sample step,
round-trips it through its editor fields, describes it, and owns a template that loads.
Running each type is covered by the engine tests (test_engine.py and others)."""

import pytest
from django.template.loader import get_template

from campaigns.journeys import buttons, editor, grammar
from campaigns.step_types import TYPES, StepType

# One valid step per type, each leading to "end" (an exit step) where it has a way on.
SAMPLES = {
    "wait": {"id": "s", "type": "wait", "minutes": 90, "next": "end", "label": "A while"},
    "wait_for_event": {
        "id": "s",
        "type": "wait_for_event",
        "event": "Order Completed",
        "timeout_minutes": 60,
        "next": "end",
        "timeout_next": "end",
    },
    "branch": {
        "id": "s",
        "type": "branch",
        "condition": {"type": "trait", "key": "country", "op": "equals", "value": "NL"},
        "yes": "end",
        "no": "end",
    },
    "split": {
        "id": "s",
        "type": "split",
        "variants": [
            {"name": "A", "percent": 60, "next": "end"},
            {"name": "holdout", "percent": 40, "holdout": True},
        ],
    },
    "send_email": {
        "id": "s",
        "type": "send_email",
        "template_id": 3,
        "destination_id": 4,
        "next": "end",
    },
    "send_sms": {
        "id": "s",
        "type": "send_sms",
        "template_id": 5,
        "destination_id": 6,
        "next": "end",
    },
    "audience": {
        "id": "s",
        "type": "audience",
        "destination_id": 4,
        "action": "remove",
        "next": "end",
    },
    "webhook": {"id": "s", "type": "webhook", "destination_id": 4, "next": "end"},
    "esp_list": {
        "id": "s",
        "type": "esp_list",
        "destination_id": 4,
        "action": "update",
        "next": "end",
    },
    "set_trait": {"id": "s", "type": "set_trait", "key": "vip", "value": {"n": 1}, "next": "end"},
    "exit": {"id": "s", "type": "exit", "label": "Done"},
}
END = {"id": "end", "type": "exit"}


def test_every_registered_type_has_a_sample():
    assert set(SAMPLES) == set(TYPES)


def test_the_editor_menu_lists_the_types_waits_first_and_exit_last():
    assert [name for name, _label in editor.step_types_menu()] == [
        "wait",
        "wait_for_event",
        "branch",
        "split",
        "send_email",
        "send_sms",
        "audience",
        "webhook",
        "esp_list",
        "set_trait",
        "exit",
    ]


def journey(kind: str) -> list[dict]:
    sample = SAMPLES[kind]
    return [sample, END] if TYPES[kind].links(sample) else [sample]


@pytest.mark.parametrize("kind", list(TYPES))
def test_a_sample_step_is_valid(kind):
    grammar.validate(journey(kind))


@pytest.mark.parametrize("kind", list(TYPES))
def test_a_field_of_another_type_is_refused(kind):
    step = dict(SAMPLES[kind], colour="red")
    with pytest.raises(grammar.StepsError) as raised:
        grammar.validate([step, END])
    assert {"field": "steps[0].colour", "message": "“colour” is not part of this step."} in (
        raised.value.errors
    )


@pytest.mark.parametrize("kind", list(TYPES))
def test_editor_fields_round_trip(kind):
    steps = journey(kind)
    fields = editor.steps_to_fields(steps)
    assert all(isinstance(value, str) for value in fields.values())
    assert editor.fields_to_steps(fields) == steps


@pytest.mark.django_db  # send_email's description names its message template
@pytest.mark.parametrize("kind", list(TYPES))
def test_each_type_describes_its_step(kind):
    assert isinstance(TYPES[kind].describe(SAMPLES[kind]), str)


@pytest.mark.parametrize("kind", list(TYPES))
def test_each_type_owns_a_template(kind):
    assert TYPES[kind].template == f"campaigns/step_types/{kind}.html"
    get_template(TYPES[kind].template)


@pytest.mark.parametrize("kind", list(TYPES))
def test_the_editor_adds_a_step_of_each_type(kind):
    steps = [{"id": "first", "type": "wait", "minutes": 5}]
    buttons.apply_action(steps, "add", add_type=kind)
    assert steps[1]["type"] == kind
    assert steps[0]["next"] == steps[1]["id"]
    assert set(steps[1]) <= TYPES[kind].all_fields


@pytest.mark.parametrize("kind", list(TYPES))
def test_each_type_is_a_step_type_with_a_label(kind):
    assert isinstance(TYPES[kind], StepType)
    assert TYPES[kind].name == kind and TYPES[kind].label
    assert (kind, TYPES[kind].label) in editor.step_types_menu()
