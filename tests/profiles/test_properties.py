"""Properties of identity resolution, checked over generated people and events.

Each person has distinct identifiers (a user id, one or two anonymous ids, an e-mail, a
CRM id); each event carries a subset of ONE person's identifiers (so no identity rule
ever refuses a link) and a trait stamped with the event's own, distinct, time.

Every Hypothesis example runs inside a savepoint of the test's transaction that is
rolled back at its end, so examples never see each other's rows.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from integrations import processing, services
from integrations.models import Event
from profiles.identifiers import load_rules
from profiles.models import Identity, Merge, Profile, ProfileEvent
from profiles.services import merge_profiles, unmerge

from .conftest import T0

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    # CDP_PROPERTY_EXAMPLES=500 for a longer hunt; 25 keeps the suite fast.
    max_examples=int(os.environ.get("CDP_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
TRAIT_KEYS = ("color", "size", "city")


# Generated world -----------------------------------------------------------------------


def person_identifiers(p: int, anons: int) -> list[tuple[str, str]]:
    found = [("user_id", f"u{p}"), ("crm_id", f"C{p}"), ("email", f"p{p}@example.org")]
    return found + [("anonymous_id", f"a{p}-{j}") for j in range(anons)]


@st.composite
def worlds(draw, *, max_events: int = 10):
    """(events): each a dict person, identifiers, source, trait, minute."""
    people = [
        person_identifiers(p, draw(st.integers(1, 2))) for p in range(draw(st.integers(1, 3)))
    ]
    count = draw(st.integers(1, max_events))
    events = []
    for index in range(count):
        p = draw(st.integers(0, len(people) - 1))
        idents = draw(
            st.lists(st.sampled_from(people[p]), min_size=1, max_size=4, unique=True).filter(
                lambda xs: any(k != "email" for k, _ in xs)
            )
        )
        trait = (draw(st.sampled_from(TRAIT_KEYS)), draw(st.sampled_from(["a", "b", "c"])))
        source = draw(st.sampled_from(["web", "crm"]))
        events.append(
            {"id": f"e{index}", "idents": idents, "source": source, "trait": trait, "minute": index}
        )
    return events


def with_split_person(events: list[dict]) -> list[dict]:
    """The events plus two profiles of one more person that nothing links yet (a device
    and an account), so that there is always a pair of profiles a merge may join."""
    last = len(events)
    return events + [
        {
            "id": "split-0",
            "idents": [("anonymous_id", "a9-0")],
            "source": "web",
            "trait": ("color", "x"),
            "minute": last,
        },
        {
            "id": "split-1",
            "idents": [("user_id", "u9")],
            "source": "web",
            "trait": ("size", "y"),
            "minute": last + 1,
        },
    ]


def to_message(spec: dict) -> tuple[str, dict]:
    """The Segment message an event spec becomes, and the source that sends it.

    The web source's userId is a user id, the CRM's a CRM id; other identifiers travel
    as traits (crmId, webshopAccountId, email) or, for a second anonymous id, as a
    context.externalIds entry."""
    idents = dict()
    extra = []
    for kind, value in spec["idents"]:
        if kind in idents:
            extra.append({"type": kind, "id": value})
        else:
            idents[kind] = value
    source = spec["source"]
    own, other = ("user_id", "crm_id") if source == "web" else ("crm_id", "user_id")
    if own not in idents and "anonymous_id" not in idents:
        source, own, other = (
            ("crm", "crm_id", "user_id") if source == "web" else ("web", "user_id", "crm_id")
        )
    key, value = spec["trait"]
    traits = {key: value}
    if other in idents:
        traits["crmId" if other == "crm_id" else "webshopAccountId"] = idents[other]
    if "email" in idents:
        traits["email"] = idents["email"]
    message = {
        "type": "identify",
        "messageId": spec["id"],
        "timestamp": (T0 + timedelta(minutes=spec["minute"])).isoformat(),
        "traits": traits,
    }
    if own in idents:
        message["userId"] = idents[own]
    if "anonymous_id" in idents:
        message["anonymousId"] = idents["anonymous_id"]
    if extra:
        message["context"] = {"externalIds": extra}
    return source, message


def store(sources: dict, messages: list[tuple[str, dict]]) -> None:
    """Stores the messages one by one, so the inbox holds them in this order."""
    for source, message in messages:
        result = services.ingest_messages(source_id=sources[source].id, messages=[message])
        assert result.stored == 1, result


def drain(limit: int | None = None) -> None:
    while processing.process_inbox_batch(limit=limit):
        pass


def components(events: list[dict]) -> set[frozenset[str]]:
    """The expected profiles: identifiers joined by sharing an event (union-find)."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for spec in events:
        keys = [f"{k}:{v}" for k, v in spec["idents"]]
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
        find(keys[0])
    groups: dict[str, set[str]] = {}
    for key in parent:
        groups.setdefault(find(key), set()).add(key)
    return {frozenset(g) for g in groups.values()}


# Observed state ------------------------------------------------------------------------


def observed(*, with_ids: bool = False, skip_messages: frozenset = frozenset()) -> dict:
    """Active profiles keyed by their identity set (and id, if asked): current traits
    and the messageIds of the events they own."""
    message_ids = dict(Event.objects.values_list("id", "message_id"))
    identities: dict[int, set[str]] = {}
    for pid, kind, value in Identity.objects.values_list("profile_id", "kind__name", "value"):
        identities.setdefault(pid, set()).add(f"{kind}:{value}")
    events: dict[int, set[str]] = {}
    for pid, event_id in ProfileEvent.objects.values_list("profile_id", "event_id"):
        if message_ids[event_id] not in skip_messages:
            events.setdefault(pid, set()).add(message_ids[event_id])
    state = {}
    for profile in Profile.objects.filter(merged_into__isnull=True):
        key = frozenset(identities.get(profile.pk, ()))
        if with_ids:
            key = (profile.pk, key)
        assert key not in state, f"two active profiles hold {sorted(key)}"
        state[key] = (
            json.dumps(profile.traits, sort_keys=True),
            frozenset(events.get(profile.pk, ())),
        )
    # Merged-away profiles hold nothing.
    assert not set(identities) - {
        p for (p,) in Profile.objects.filter(merged_into__isnull=True).values_list("pk")
    }  # noqa: E501
    return state


@pytest.fixture
def sources(backend, crm):
    """The "web" side is the shop's backend, a server source: these properties are about
    resolution itself, with every identifier believed (client sources: test_source_trust)."""
    load_rules()  # installs the default rules once, outside the examples' savepoints
    return {"web": backend, "crm": crm}


class Rollback(Exception):
    pass


def in_savepoint(fn):
    """Runs ``fn`` in a savepoint that is always rolled back; returns its result."""
    result = []
    try:
        with transaction.atomic():
            result.append(fn())
            raise Rollback
    except Rollback:
        pass
    return result[0]


# Properties ----------------------------------------------------------------------------


@SETTINGS
@given(events=worlds(), data=st.data())
def test_any_order_and_any_batch_split_give_the_same_profiles(sources, events, data):
    messages = [to_message(e) for e in events]

    def reference():
        store(sources, messages)
        drain(limit=1000)
        return observed()

    expected = in_savepoint(reference)
    assert set(expected) == components(events)
    assert set().union(*(owned for _, owned in expected.values())) == {e["id"] for e in events}

    order = data.draw(st.permutations(messages), label="order")
    batch = data.draw(st.integers(1, len(messages)), label="batch size")

    def shuffled():
        store(sources, order)
        drain(limit=batch)
        assert ProfileEvent.objects.count() == len(events)  # each event resolved once
        return observed()

    assert in_savepoint(shuffled) == expected


@SETTINGS
@given(events=worlds(), data=st.data())
def test_a_manual_merge_then_its_unmerge_gives_back_the_profiles(sources, events, data):
    def run():
        store(sources, [to_message(e) for e in with_split_person(events)])
        drain()
        before = observed(with_ids=True)
        active = sorted(pid for pid, _ in before)
        assume(len(active) >= 2)
        survivor, merged = data.draw(
            st.permutations(active).map(lambda xs: xs[:2]), label="survivor, merged"
        )
        merge = merge_profiles(survivor_id=survivor, merged_id=merged, actor=None)
        assert len(observed()) == len(active) - 1
        unmerge(merge_id=merge.pk, actor=None)
        assert observed(with_ids=True) == before

    in_savepoint(run)


def _conflict(a: set[str], b: set[str], limits: dict[str, int]) -> bool:
    kinds = [x.split(":", 1)[0] for x in a | b]
    return any(kinds.count(kind) > limit for kind, limit in limits.items())


@SETTINGS
@given(events=worlds(), data=st.data())
def test_an_automatic_merge_then_its_unmerge_gives_back_the_profiles(sources, events, data):
    limits = {k.name: k.limit for k in load_rules().kinds.values() if k.limit is not None}

    def run():
        store(sources, [to_message(e) for e in with_split_person(events)])
        drain()
        before = observed(with_ids=True)
        pairs = [
            (x, y)
            for x in before
            for y in before
            if x[0] < y[0] and not _conflict(set(x[1]), set(y[1]), limits)
        ]
        assume(pairs)
        x, y = data.draw(st.sampled_from(pairs), label="profiles to link")
        a = data.draw(st.sampled_from(sorted(x[1])), label="identifier of the first")
        b = data.draw(st.sampled_from(sorted(y[1])), label="identifier of the second")
        if a.startswith("email:") and b.startswith("email:"):  # a message needs an id
            a = min(i for i in x[1] if not i.startswith("email:"))
        link = link_message(
            [a, b], anonymous=sorted(i for i in x[1] | y[1] if i.startswith("anonymous_id:"))
        )
        assume(link is not None)
        source, message = link
        merges_before = set(Merge.objects.values_list("pk", flat=True))
        store(sources, [(source, message)])
        drain()
        (merge,) = Merge.objects.exclude(pk__in=merges_before)
        assert {merge.survivor_id, merge.merged_id} == {x[0], y[0]}
        assert len(observed()) == len(before) - 1
        unmerge(merge_id=merge.pk, actor=None)
        after = observed(with_ids=True, skip_messages=frozenset({message["messageId"]}))
        assert after == before

    in_savepoint(run)


def link_message(identifiers: list[str], *, anonymous: list[str]) -> tuple[str, dict] | None:
    """A track message that carries exactly these known identifiers (no traits)."""
    pairs = [i.split(":", 1) for i in identifiers]
    kinds = {k for k, _ in pairs}
    message = {
        "type": "track",
        "event": "Linked",
        "messageId": "link",
        "timestamp": (T0 + timedelta(days=1)).isoformat(),
    }
    source = "web"
    if "anonymous_id" in kinds:
        message["anonymousId"] = next(v for k, v in pairs if k == "anonymous_id")
    elif "user_id" in kinds:
        message["userId"] = next(v for k, v in pairs if k == "user_id")
    elif "crm_id" in kinds:
        source = "crm"
        message["userId"] = next(v for k, v in pairs if k == "crm_id")
    elif anonymous:
        message["anonymousId"] = anonymous[0].split(":", 1)[1]
    else:
        return None
    message["context"] = {"externalIds": [{"type": k, "id": v} for k, v in pairs]}
    return source, message
