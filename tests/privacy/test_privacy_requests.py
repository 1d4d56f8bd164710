# ruff: noqa: F811 (pytest fixtures imported from other conftests, used as arguments)
"""Data subject requests (profiles/privacy): the person is found by any identifier as
identity resolution normalises it (a merged profile leading to the whole person); an
access request gives a ZIP of every registry part as JSON and CSV with a readable, escaped
summary behind an expiring signed link; an erasure leaves nothing, hands the identifiers
to the suppressors and keeps no clear identifier on its own record; a restriction stops
the person's journey e-mails."""

import io
import json
import time
import zipfile
from datetime import timedelta

import pytest
from django.core import signing
from django.forms.models import model_to_dict

from campaigns import runner, triggers
from campaigns.models import Delivery
from campaigns.step_types.actions import RESTRICTED
from cdp_site import audit
from cdp_site.models import AuditEntry
from cdp_site.personal_data import HOLDERS, export_subject
from integrations import services as collect
from integrations.destinations import services as destination_services
from integrations.suppression import services as suppression
from profiles import services as profiles
from profiles import tasks
from profiles.models import Identity, PrivacyRequest, Profile
from profiles.privacy import archive, services
from profiles.privacy.selectors import PROFILE_ID, subject_for
from segments import export, membership
from segments import services as segment_services
from tests.campaigns.conftest import campaign, person, smtp, template, track  # noqa: F401
from tests.profiles.conftest import message, profile_of, send, web  # noqa: F401
from tests.support.segment_rules import rule
from tests.support.signing import signed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def manager(make_user):
    return make_user("Account manager")


@pytest.fixture
def ann(send, web):  # noqa: F811
    """Ann browses anonymously, then signs up (her anonymous profile merges into hers)."""
    send(web, message(anonymousId="anon-ann", event="Product Viewed"))
    traits = {"email": "Ann@Example.org", "firstName": "<script>alert(1)</script>"}
    send(web, message("identify", userId="ann", traits=traits, minutes=1))
    send(web, message("identify", userId="ann", anonymousId="anon-ann", minutes=2))
    ann = profile_of("user_id", "ann")
    assert Profile.objects.filter(merged_into=ann).count() == 1
    return ann


def _request(manager, kind="access", identifier_kind="email", value="ann@example.org"):
    return services.create_request(
        kind=kind,
        identifier_kind=identifier_kind,
        identifier_value=value,
        verification="email",
        requested_by=manager,
    )


def _run(request, manager) -> PrivacyRequest:
    """Starts the request, then runs what the worker would (tasks called directly)."""
    started = services.start(request=request, actor=manager)
    if started.status == PrivacyRequest.Status.RUNNING:
        tasks.run_privacy_request(started.pk, manager.pk)
    return PrivacyRequest.objects.get(pk=request.pk)


def test_an_email_in_another_case_with_spaces_finds_the_person(ann, manager):
    request = _request(manager, value="  ANN@example.ORG ")
    assert request.identifier_value == "ann@example.org"
    assert request.due_at - request.requested_at == timedelta(days=30)
    assert request.due_in_words() == "30 days left"
    done = _run(request, manager)
    assert done.status == PrivacyRequest.Status.COMPLETED
    assert ann.pk in done.profile_ids and len(done.profile_ids) == 2


def test_a_merged_profiles_id_or_identifier_leads_to_the_whole_person(ann):
    merged = Profile.objects.get(merged_into=ann)
    by_id = subject_for(PROFILE_ID, str(merged.pk))
    by_anonymous_id = subject_for("anonymous_id", "anon-ann")
    assert by_id == by_anonymous_id
    assert set(by_id.profile_ids) == {ann.pk, merged.pk}
    assert {("user_id", "ann"), ("anonymous_id", "anon-ann"), ("email", "ann@example.org")} <= set(
        by_id.identifiers
    )


def test_nobody_known_is_recorded_as_no_data_found(ann, manager):
    done = _run(_request(manager, value="nobody@example.org"), manager)
    assert done.status == PrivacyRequest.Status.NO_DATA
    assert done.export_file == "" and done.profile_ids == []
    assert done.identifier_value == "" and done.identifier_hash == audit.hashed(
        "nobody@example.org"
    )


def test_an_identifier_that_cannot_be_one_is_refused(manager):
    with pytest.raises(services.PrivacyError):
        _request(manager, value="not an address")


def _archive(request) -> zipfile.ZipFile:
    return zipfile.ZipFile(archive.path_of(request.export_file))


def test_the_export_holds_json_and_csv_per_part_and_an_escaped_summary(ann, manager):
    done = _run(_request(manager), manager)
    names = set(_archive(done).namelist())
    for holder in HOLDERS:
        assert {f"{holder.part}.json", f"{holder.part}.csv"} <= names
    assert "index.html" in names
    events = json.loads(_archive(done).read("events.json"))
    assert len(events) == done.counts["events"] == 3  # the view and two identifies
    identities = _archive(done).read("identities.csv").decode()
    assert "anon-ann" in identities and identities.splitlines()[0].startswith("id,")
    index = _archive(done).read("index.html").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index and "<script>" not in index
    assert "ann@example.org" in index
    assert AuditEntry.objects.filter(action="privacy.export", target_id=str(done.pk)).exists()


def test_the_signed_link_downloads_the_export_once_audited(ann, manager, client):
    done = _run(_request(manager), manager)
    token = services.download_link_token(done)
    response = client.get(f"/profiles/privacy/download/{token}/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    assert "index.html" in zipfile.ZipFile(io.BytesIO(body)).namelist()
    (row,) = AuditEntry.objects.filter(action="privacy.export_download")
    assert row.target_id == str(done.pk) and row.actor_id is None
    assert "ann@example.org" not in json.dumps(row.details)


def test_exports_are_deleted_once_their_link_has_expired(
    ann, manager, django_capture_on_commit_callbacks
):
    done = _run(_request(manager), manager)
    assert services.purge_exports() == 0 and archive.path_of(done.export_file).is_file()
    later = done.completed_at + timedelta(days=7, minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_exports(now=later) == 1
    assert list(archive.folder().iterdir()) == []
    assert PrivacyRequest.objects.get().export_file == ""


class _EightDaysAgo(signing.TimestampSigner):
    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 8 * 86400)


def test_an_expired_or_tampered_link_is_refused_with_a_page(ann, manager, client):
    done = _run(_request(manager), manager)
    old = _EightDaysAgo(salt=archive.SALT).sign(f"{done.pk}:{done.export_file}")
    expired = client.get(f"/profiles/privacy/download/{old}/")
    assert expired.status_code == 410 and b"has expired" in expired.content
    token = services.download_link_token(done)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    refused = client.get(f"/profiles/privacy/download/{tampered}/")
    assert refused.status_code == 403 and b"not valid" in refused.content
    other = signing.TimestampSigner(salt=archive.SALT).sign(f"{done.pk}:another.zip")
    assert client.get(f"/profiles/privacy/download/{other}/").status_code == 410
    assert not AuditEntry.objects.filter(action="privacy.export_download").exists()


@pytest.fixture
def suppressed():
    received = []

    def suppress(values, request_id):
        received.append((values, request_id))

    services.register_suppressor(suppress)
    yield received
    services.SUPPRESSORS.remove(suppress)


def test_an_erasure_leaves_nothing_and_no_clear_identifier_on_its_record(
    ann, manager, suppressed, django_capture_on_commit_callbacks
):
    subject = subject_for("email", "ann@example.org")
    access = _run(_request(manager), manager)
    erasure = _request(manager, kind="erasure", value="ANN@example.org")
    with django_capture_on_commit_callbacks(execute=True):  # files go once committed
        erasure = _run(erasure, manager)
    assert erasure.status == PrivacyRequest.Status.COMPLETED
    assert erasure.counts["profiles"] == 2 and erasure.counts["events"] == 3
    assert all(rows == [] for rows in export_subject(subject).values())
    assert not Profile.objects.filter(pk__in=subject.profile_ids).exists()
    kept = json.dumps(model_to_dict(erasure), default=str).lower()
    assert "ann@example.org" not in kept and "anon-ann" not in kept
    assert erasure.identifier_hash == audit.hashed("ann@example.org")
    # The earlier export went with the person.
    access.refresh_from_db()
    assert access.export_file == "" and not list(archive.folder().iterdir())
    (values, request_id) = suppressed[0]
    assert request_id == erasure.pk
    assert set(values) == {"ann", "anon-ann", "ann@example.org"}
    (row,) = AuditEntry.objects.filter(action="privacy.erase")
    assert row.details["counts"]["profiles"] == 2 and "ann" not in json.dumps(row.details)


def test_an_erasure_works_without_any_suppressor(ann, manager, monkeypatch):
    monkeypatch.setattr(services, "SUPPRESSORS", [])
    done = _run(_request(manager, kind="erasure"), manager)
    assert done.status == PrivacyRequest.Status.COMPLETED
    assert not Profile.objects.filter(pk=ann.pk).exists()


def test_an_erased_person_is_not_recreated_and_nobody_known_is_still_suppressed(
    ann,
    manager,
    web,  # noqa: F811
):
    _run(_request(manager, kind="erasure"), manager)
    ghost = _run(_request(manager, kind="erasure", value="Ghost@Example.org"), manager)
    assert ghost.status == PrivacyRequest.Status.NO_DATA
    assert suppression.suppressed_among(["ann", "anon-ann", "ghost@example.org"]) == {
        "ann",
        "anon-ann",
        "ghost@example.org",
    }
    again = message("identify", userId="ann", traits={"email": "ann@example.org"})
    result = collect.ingest_messages(source_id=web.id, messages=signed(web, again))
    assert result.stored == 0
    assert not Identity.objects.filter(value__in=["ann", "ann@example.org"]).exists()


def test_a_failing_suppressor_rolls_the_erasure_back_and_the_request_says_failed(ann, manager):
    def broken(values, request_id):
        raise RuntimeError("suppression list unavailable")

    services.register_suppressor(broken)
    try:
        with pytest.raises(RuntimeError):
            _run(_request(manager, kind="erasure"), manager)
    finally:
        services.SUPPRESSORS.remove(broken)
    failed = PrivacyRequest.objects.get()
    assert (failed.status, failed.error) == ("failed", "RuntimeError")
    assert failed.identifier_value == "ann@example.org"  # kept to run it again
    assert Profile.objects.filter(pk=ann.pk).exists()
    assert _run(failed, manager).status == PrivacyRequest.Status.COMPLETED


def test_two_erasures_of_one_person_the_second_finds_no_data(ann, manager):
    first = _request(manager, kind="erasure")
    second = _request(manager, kind="erasure", identifier_kind="user_id", value="ann")
    assert _run(first, manager).status == PrivacyRequest.Status.COMPLETED
    assert _run(second, manager).status == PrivacyRequest.Status.NO_DATA


def test_a_second_run_of_a_completed_request_is_refused(ann, manager):
    done = _run(_request(manager, kind="restriction"), manager)
    with pytest.raises(services.PrivacyError):
        services.start(request=done, actor=manager)


@pytest.fixture
def checkout_mail(smtp, template):  # noqa: F811
    """A journey that mails whoever starts a checkout."""
    mail = {"id": "mail", "type": "send_email", "template_id": template.pk}
    return campaign([{**mail, "destination_id": smtp.pk}], trigger_event="Checkout Started")


def test_a_restricted_person_gets_no_journey_email(send, web, checkout_mail, manager, client):
    person(send, web, "rita")
    person(send, web, "sam")
    restricted = _run(_request(manager, "restriction", "user_id", "rita"), manager)
    client.force_login(manager)
    assert restricted.status == PrivacyRequest.Status.COMPLETED
    for user in ("rita", "sam"):
        track(send, web, user, "Checkout Started", 0)
    triggers.read_all()
    runner.run_due()
    rita, sam = profile_of("user_id", "rita"), profile_of("user_id", "sam")
    assert rita.restricted and not sam.restricted
    (skipped,) = Delivery.objects.filter(profile_id=rita.pk)
    assert (skipped.status, skipped.reason) == ("skipped", RESTRICTED)
    assert Delivery.objects.get(profile_id=sam.pk).status == "pending"
    page = client.get(f"/profiles/{rita.pk}/").content.decode()
    assert "A privacy request restricted this person" in page
    assert client.get(f"/api/v1/profiles/{rita.pk}/").json()["restricted"] is True
    assert services.lift_restriction(request=restricted, actor=manager) == 1
    assert not Profile.objects.get(pk=rita.pk).restricted


def test_a_restricted_person_merged_into_another_profile_stays_restricted(
    send, web, checkout_mail, manager
):
    person(send, web, "rita")
    person(send, web, "rita-2", email="rita@example.org")
    _run(_request(manager, "restriction", "user_id", "rita"), manager)
    survivor = profile_of("user_id", "rita-2")
    profiles.merge_profiles(
        survivor_id=survivor.pk, merged_id=profile_of("user_id", "rita").pk, actor=manager
    )
    track(send, web, "rita-2", "Checkout Started", 0)
    triggers.read_all()
    runner.run_due()
    (skipped,) = Delivery.objects.filter(profile_id=survivor.pk)
    assert (skipped.status, skipped.reason) == ("skipped", RESTRICTED)


def test_a_scheduled_segment_export_leaves_a_restricted_person_out_but_counts_them(
    send, web, manager, settings, tmp_path
):
    settings.CDP_EXPORT_ROOT = tmp_path
    (tmp_path / "out").mkdir()
    for user in ("rita", "sam"):
        person(send, web, user)
    _run(_request(manager, "restriction", "user_id", "rita"), manager)
    everyone = segment_services.create_segment(
        name="E-mail known",
        rule=rule({"type": "trait", "key": "email", "op": "is_set"}),
        include_restricted=True,  # the marketer asked to count restricted people
    )
    assert membership.recompute(everyone).member_count == 2  # still a member
    destination_services.create_destination(
        name="Nightly",
        kind="csv_export",
        config={"folder": "out", "segment_id": everyone.pk, "every_hours": 24},
    )
    assert export.export_due_segments() == 1
    (written,) = (tmp_path / "out").iterdir()
    text = written.read_text()
    assert "sam@example.org" in text and "rita" not in text
