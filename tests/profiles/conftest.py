import itertools
from datetime import UTC, datetime, timedelta

import pytest

from integrations import processing, services
from integrations.models import Source
from profiles.models import Identity, Profile
from profiles.services import set_source_user_id_kind
from tests.support.signing import signed

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count()


@pytest.fixture
def web(db):
    return services.create_source(name="Webshop", kind=Source.Kind.WEBSITE, priority=60)


@pytest.fixture
def backend(db):
    """The shop's own server: a server source, trusted to link profiles by user id."""
    return services.create_source(name="Shop backend", kind=Source.Kind.SERVER, priority=70)


@pytest.fixture
def crm(db):
    source = services.create_source(name="CRM", kind=Source.Kind.CRM, priority=90)
    set_source_user_id_kind(source=source, kind_name="crm_id")
    return source


def message(type_="track", minutes=0, **fields):
    """A Segment message at T0 + minutes, with a unique messageId."""
    body = {"type": type_, "messageId": f"msg-{next(_ids)}", **fields}
    body.setdefault("timestamp", (T0 + timedelta(minutes=minutes)).isoformat())
    if type_ == "track":
        body.setdefault("event", "Product Viewed")
    return body


@pytest.fixture
def send():
    """Stores messages through the collection service and processes them all. A client
    source's messages are signed, as a site with identity verification sends them."""

    def run(source, *messages, process=True):
        result = services.ingest_messages(source_id=source.id, messages=signed(source, *messages))
        assert result.stored == len(messages), result
        if process:
            drain()
        return result

    return run


def drain() -> None:
    while processing.process_inbox_batch():
        pass


def active_profiles():
    return Profile.objects.filter(merged_into__isnull=True)


def identities_of(profile) -> set[str]:
    return {f"{i.kind.name}:{i.value}" for i in Identity.objects.filter(profile=profile)}


def profile_of(kind: str, value: str) -> Profile:
    return Identity.objects.select_related("profile").get(kind__name=kind, value=value).profile
