"""Dry run of identity rule changes: replayed over every event, compared with today."""

import pytest

from cdp_site.permissions import ADMIN
from profiles.models import BlockedValue, IdentifierKind
from profiles.rules import dryrun_jobs
from profiles.rules import services as rules_services
from profiles.rules.dryrun import dry_run

from .conftest import active_profiles, message

pytestmark = pytest.mark.django_db


def test_with_todays_rules_nothing_changes(web, crm, send):
    send(web, message("identify", userId="w1", traits={"email": "bo@example.org"}))
    send(crm, message("identify", userId="CRM-1", traits={"email": "bo@example.org"}, minutes=1))
    send(web, message("identify", userId="w2", minutes=2))
    result = dry_run(kinds=None, blocked=None)
    assert (result.profiles_before, result.profiles_after) == (2, 2)
    assert (result.merging, result.splitting, result.events_scanned) == (0, 0, 3)


def test_blocking_a_shared_email_reports_the_profile_it_merged_as_a_split(web, crm, send):
    send(web, message("identify", userId="w1", traits={"email": "shared@example.org"}))
    send(crm, message("identify", userId="CRM-1", traits={"email": "shared@example.org"}))
    assert active_profiles().count() == 1
    blocked = [(None, v) for v in BlockedValue.objects.values_list("value", flat=True)]
    result = dry_run(kinds=None, blocked=[*blocked, ("email", "SHARED@example.org")])
    assert result.profiles_before == 1
    assert result.profiles_after == 2
    assert result.splitting == 1
    assert result.merging == 0
    assert result.events_scanned == 2
    assert active_profiles().count() == 1  # nothing was written


def test_raising_the_user_id_limit_reports_the_profiles_that_would_merge(web, send):
    # One e-mail with two user ids never merges two known customers under a limit of 1.
    send(web, message("identify", userId="u1", traits={"email": "family@example.org"}))
    send(web, message("identify", userId="u2", traits={"email": "family@example.org"}, minutes=1))
    send(web, message("identify", userId="u3", minutes=2))
    assert active_profiles().count() == 3
    result = dry_run(kinds={"user_id": {"max_per_profile": 2}}, blocked=None)
    assert (result.profiles_before, result.profiles_after) == (3, 2)
    assert result.merging == 2  # u1's and u2's profiles; u3 stays alone
    assert result.splitting == 0


def test_a_dry_run_leaves_the_rules_untouched(web, send):
    send(web, message("identify", userId="u1"))
    dry_run(kinds={"email": {"priority": 1, "max_per_profile": 9}}, blocked=[])
    email = IdentifierKind.objects.get(name="email")
    assert (email.priority, email.max_per_profile) == (70, 5)
    assert BlockedValue.objects.exists()


def test_an_unknown_kind_in_a_proposal_is_refused(db):
    with pytest.raises(ValueError, match="partner"):
        dry_run(kinds={"partner": {"priority": 3}}, blocked=None)


def test_a_large_events_table_gets_its_dry_run_in_the_background_with_a_live_count(
    client_as, web, send, settings
):
    admin = client_as(ADMIN)
    settings.PROFILES_DRY_RUN_INLINE_EVENTS = 0  # every table counts as large
    send(web, message("identify", userId="u1", traits={"email": "family@example.org"}))
    send(web, message("identify", userId="u2", traits={"email": "family@example.org"}, minutes=1))
    proposal = {"kind": "user_id", "rules": {"max_per_profile": 2}}
    change = {"kinds": {"user_id": {"max_per_profile": 2}}}
    started = dryrun_jobs.start(digest=rules_services.proposal_digest(proposal), **change)
    key = started.key
    assert started.state == "queued"
    polled = admin.get(f"/profiles/rules/dry-run/{key}/")
    assert b"in progress" in polled.content and b'name="dry_run"' not in polled.content

    dryrun_jobs.run(key, **change)  # what the worker's task does
    done = admin.get(f"/profiles/rules/dry-run/{key}/")
    text = done.content.decode()
    assert 'data-figure="merging">2<' in text and 'name="dry_run"' in text
