"""The personal-data registry (cdp_site/personal_data.py): every model that looks like it
holds a person is registered or exempted with a reason; a person with data in every app
(events raw and resolved, traits, consent, notes, a merge, a segment, a journey with a
message, a refused event) is exported part by part and erased by the registry's loop,
leaving nothing of theirs and everything of the next person."""

import pytest
from django.apps import apps
from django.db import connection, models

from campaigns.models import Delivery
from cdp_site.personal_data import EXEMPT, Subject, erase_subject, export_subject
from cdp_site.personal_data import registered_models as registered
from integrations import services as collect
from profiles import services as profiles
from profiles.models import Identity, Profile
from segments import membership
from segments import services as segments
from tests.campaigns.conftest import pending_mails, smtp, template  # noqa: F401
from tests.profiles.conftest import drain, message, profile_of, send, web  # noqa: F401
from tests.segments.conftest import rule

OUR_APPS = {"cdp_site", "integrations", "profiles", "segments", "campaigns", "insights", "demo"}
PERSON_FIELDS = {"email", "address", "phone", "user_id", "anonymous_id", "value", "payload"}
PERSON_FIELDS |= {"properties", "traits", "context", "evidence"}
PEOPLE = {"profiles.Profile", "profiles.Identity"}


def _why_personal(model) -> str | None:
    for field in model._meta.concrete_fields:
        target = field.related_model._meta.label if field.is_relation else None
        if target in PEOPLE or field.name == "profile_id" or field.name.endswith("_profile_id"):
            return f"{field.name} names a person"
        if isinstance(field, models.EmailField) or field.name in PERSON_FIELDS:
            return f"{field.name} may hold personal data"
    return None


def test_every_model_holding_a_person_is_registered_or_says_why_not():
    missing = [
        f"{model._meta.label} ({why})"
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS
        and (why := _why_personal(model))
        and model._meta.label not in registered() | set(EXEMPT)
    ]
    assert missing == [], "register an exporter and an eraser, or exempt with a reason"
    assert all(len(reason) > 20 for reason in EXEMPT.values())
    assert registered() <= {m._meta.label for m in apps.get_models()}


def _subject(user: str) -> Subject:
    kept = profile_of("user_id", user).pk
    ids = [kept, *Profile.objects.filter(merged_into_id=kept).values_list("pk", flat=True)]
    identities = Identity.objects.filter(profile_id__in=ids).values_list("kind__name", "value")
    return Subject(profile_ids=tuple(sorted(ids)), identifiers=tuple(sorted(identities)))


@pytest.fixture
def people(send, web, smtp, template, make_user):  # noqa: F811
    """alice browses anonymously, signs in (a merge), orders, gets a note, a consent
    change, a segment, a journey e-mail and a refused event; bob only shops."""
    send(web, message(anonymousId="anon-alice", event="Product Viewed"))
    pending_mails(send, web, smtp, template, ["alice", "bob"])
    send(web, message("identify", userId="alice", anonymousId="anon-alice"))
    alice = profile_of("user_id", "alice")
    admin = make_user("Admin")
    profiles.add_note(profile=alice, author=admin, body="Called about her order")
    profiles.record_consent(profile=alice, purpose="email_marketing", status="denied")
    everyone = segments.create_segment(
        name="E-mail known", rule=rule({"type": "trait", "key": "email", "op": "is_set"})
    )
    membership.recompute(everyone)
    collect.ingest_messages(
        source_id=web.id, messages=[{"type": "track", "userId": "alice", "event": 7}]
    )
    return alice


def _raw_events_of(user: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations_event WHERE user_id = %s", [user])
        return cursor.fetchone()[0]


def test_a_person_is_exported_from_every_app_and_erased_without_touching_another(people):
    alice, bob = _subject("alice"), _subject("bob")
    assert len(alice.profile_ids) == 2  # the anonymous profile was merged into hers
    bob_before = export_subject(bob)

    exported = export_subject(alice)
    for part in (
        "events", "raw_events", "trait_values", "consent_records", "notes", "merges",
        "identities", "profiles", "stage_history", "segment_memberships", "segment_history",
        "journeys", "journey_steps", "messages", "refused_events",
    ):  # fmt: skip
        assert exported[part], f"nothing exported from {part}"
    assert {r["value"] for r in exported["identities"]} >= {"alice", "anon-alice"}
    assert {r["body"] for r in exported["notes"]} == {"Called about her order"}

    erased = erase_subject(alice)
    assert erased["profiles"] == 2 and erased["events"] == len(exported["events"])
    assert all(rows == [] for rows in export_subject(alice).values())
    assert _raw_events_of("alice") == 0 and _raw_events_of("bob") > 0
    assert export_subject(bob) == bob_before
    assert Delivery.objects.filter(profile_id__in=bob.profile_ids).count() == 1
