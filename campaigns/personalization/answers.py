"""The personalisation answer: what one source may show one visitor, section by section.

An answer is ``{section name: value}``, one entry per registered section, each with the
empty value its section declares when there is nothing (so an answer has one shape
whoever asks). Built-in sections, each from the source's settings (PersonalizationSetting):

- ``segments``: the visitor's segments among those chosen for the source (a segment must
  be flagged for on-site use, ``Segment.on_site``), as ``{"id", "name"}``;
- ``traits``: the chosen traits (or computed traits) the person has, ``{name: value}``;
- ``stage``: the journey stage when the source shows it, else null.

Later sections, recommendations first, are contributed with ``register_section`` (one
function per section; it receives the people and the settings and returns the values it
has): that is the one place a recommendations engine plugs in. Nothing is registered for
it yet, so answers carry no recommendations rather than made-up ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from integrations.collect import personalize as reader

RECOMMENDATIONS = "recommendations"  # the section a recommendations engine registers


@dataclass(frozen=True)
class Person:
    """What a section may read of one consenting, active, unrestricted person."""

    profile_id: int
    stage: str
    traits: dict
    computed: dict
    segment_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class SourceSettings:
    """One source's public choices (campaigns.models.PersonalizationSetting)."""

    source_id: int
    segments: dict[int, str] = field(default_factory=dict)  # id -> name
    traits: tuple[str, ...] = ()
    stage: bool = False
    user_id_kind: str = "user_id"


# (people, one source's settings) -> {profile id: value}; a person left out gets `empty`.
Build = Callable[[list[Person], SourceSettings], dict[int, object]]


@dataclass(frozen=True)
class Section:
    name: str
    empty: object
    build: Build


def _segments(people: list[Person], settings: SourceSettings) -> dict[int, object]:
    found = {}
    for person in people:
        mine = sorted(person.segment_ids & settings.segments.keys())
        if mine:
            found[person.profile_id] = [{"id": pk, "name": settings.segments[pk]} for pk in mine]
    return found


def _traits(people: list[Person], settings: SourceSettings) -> dict[int, object]:
    found = {}
    for person in people:
        values = {}
        for name in settings.traits:
            value = person.traits.get(name, person.computed.get(name))
            if value is not None:
                values[name] = value
        if values:
            found[person.profile_id] = values
    return found


def _stage(people: list[Person], settings: SourceSettings) -> dict[int, object]:
    if not settings.stage:
        return {}
    return {p.profile_id: p.stage for p in people if p.stage}


SECTIONS: dict[str, Section] = {}


def register_section(name: str, *, empty: object, build: Build) -> None:
    """Hook: a section every answer carries from now on (``empty`` when the person has
    nothing in it). Registering the same name again replaces it (ready() may run twice)."""
    SECTIONS[name] = Section(name, empty, build)
    reader.register_empty_answer(empty_answer())


def empty_answer() -> dict:
    return {s.name: s.empty for s in SECTIONS.values()}


def register_builtin() -> None:
    register_section("segments", empty=[], build=_segments)
    register_section("traits", empty={}, build=_traits)
    register_section("stage", empty=None, build=_stage)


def build(people: list[Person], settings: SourceSettings) -> dict[int, dict]:
    """{profile id: answer} for the people with something to show through this source;
    the others are absent (the cache keeps nothing for them: a miss is the empty answer)."""
    answers: dict[int, dict] = {}
    for section in SECTIONS.values():
        for profile_id, value in section.build(people, settings).items():
            answers.setdefault(profile_id, empty_answer())[section.name] = value
    return answers
