"""Writes of privacy requests: record one, start it, run it (export, erase, restrict),
and the download of an export. Every step is audited (cdp_site.audit) with ids, counts
and the identifier's keyed hash, never the identifier itself.

Running: a restriction is done at once; an access or an erasure is queued
(``run_request`` in profiles/tasks.py) so the page does not wait, and shows its status.
The request row is locked while it runs, so two runs of one request never overlap; two
requests for the same person run one after the other (the second finds what the first
left: "no data found" after an erasure).

Propagation: an erasure also asks every destination that received the person to delete
them (propagation.py): the request stays "propagating" until each has.

Suppression: ``register_suppressor(fn)``; an erasure calls every ``fn(values,
request_id)`` with each identifier value of the erased person, in the erasure's
transaction (integrations keeps a suppression list so the person is not re-created).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cdp_site import audit, outbox
from cdp_site.personal_data import Subject, erase_subject, export_subject

from ..models import PrivacyRequest, Profile
from . import archive, propagation
from .selectors import PROFILE_ID, normalised, subject_for

logger = logging.getLogger(__name__)

RUN_TASK = "profiles.tasks.run_privacy_request"
Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind

Suppressor = Callable[[list[str], int], None]
SUPPRESSORS: list[Suppressor] = []


def register_suppressor(fn: Suppressor) -> None:
    """Called with every identifier value of an erased person (and the request's id),
    inside the erasure's transaction: raising rolls the erasure back."""
    if fn not in SUPPRESSORS:
        SUPPRESSORS.append(fn)


class PrivacyError(Exception):
    """A request that cannot be recorded or run as asked; the message says why."""


@transaction.atomic
def create_request(
    *,
    kind: str,
    identifier_kind: str,
    identifier_value: str,
    verification: str,
    verification_note: str = "",
    requested_by=None,
) -> PrivacyRequest:
    value = normalised(identifier_kind, identifier_value)
    if value is None:
        raise PrivacyError(f"“{identifier_value[:60]}” is not a valid {identifier_kind}.")
    request = PrivacyRequest.objects.create(
        kind=kind,
        identifier_kind=identifier_kind,
        identifier_value=value,
        identifier_hash=audit.hashed(value),
        verification=verification,
        verification_note=verification_note,
        requested_by=requested_by,
    )
    _audit("privacy.request", request, requested_by)
    return request


@transaction.atomic
def start(*, request: PrivacyRequest, actor=None) -> PrivacyRequest:
    """Runs a restriction now; queues an access or an erasure (status "in progress")."""
    locked = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    if locked.is_done or locked.status in (Status.RUNNING, Status.PROPAGATING):
        raise PrivacyError(f"This request is {locked.get_status_display().lower()} already.")
    _audit("privacy.start", locked, actor)
    if locked.kind == Kind.RESTRICTION:
        return _run(locked, actor)
    locked.status, locked.started_at, locked.error = Status.RUNNING, timezone.now(), ""
    locked.save(update_fields=["status", "started_at", "error"])
    outbox.enqueue(RUN_TASK, locked.pk, actor.pk if actor else None)
    return locked


def run_request(*, request_id: int, actor_id: int | None = None) -> str:
    """The queued run: export or erase. A failure rolls the work back and leaves the
    request "failed" with the error's kind (it can be started again)."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        with transaction.atomic():
            request = PrivacyRequest.objects.select_for_update().get(pk=request_id)
            if request.is_done:
                return request.status
            return _run(request, actor).status
    except Exception as error:
        logger.exception("privacy request %s failed", request_id)
        PrivacyRequest.objects.filter(pk=request_id).update(
            status=Status.FAILED, error=type(error).__name__[:300]
        )
        raise


RUNNERS: dict[str, Callable] = {}


def _run(request: PrivacyRequest, actor) -> PrivacyRequest:
    """Runs the locked request in the caller's transaction."""
    value = request.identifier_value
    subject = subject_for(request.identifier_kind, value)
    request.profile_ids = list(subject.profile_ids)
    counts = RUNNERS[request.kind](request, subject, actor)
    request.counts = counts
    request.status = Status.COMPLETED if any(counts.values()) else Status.NO_DATA
    request.completed_at = timezone.now()
    # An erasure done here whose destinations are still to be reached is not answered yet.
    if request.kind == Kind.ERASURE and propagation.unfinished(request):
        request.status, request.completed_at = Status.PROPAGATING, None
    request.identifier_value = ""  # from now on only its hash (identifier_hash)
    request.error = ""
    request.save()
    return request


def _export(request: PrivacyRequest, subject: Subject, actor) -> dict[str, int]:
    data = export_subject(subject)
    counts = {part: len(rows) for part, rows in data.items()}
    if any(counts.values()):
        old, request.export_file = request.export_file, archive.write(data, subject)
        transaction.on_commit(lambda: archive.remove(old))
    _audit("privacy.export", request, actor, counts=_nonzero(counts))
    return counts


def _erase(request: PrivacyRequest, subject: Subject, actor) -> dict[str, int]:
    # Who received the person is read before the erasure deletes the record of it.
    reached = propagation.plan(subject)
    counts = erase_subject(subject)
    values = sorted({v for k, v in subject.identifiers if k != PROFILE_ID})
    for suppress in SUPPRESSORS:
        suppress(values, request.pk)
    _forget_exports(subject)
    jobs = propagation.create_jobs(request=request, subject=subject, reached=reached)
    _audit("privacy.erase", request, actor, counts=_nonzero(counts), destinations=len(jobs))
    return counts


def _restrict(request: PrivacyRequest, subject: Subject, actor) -> dict[str, int]:
    count = Profile.objects.filter(pk__in=subject.profile_ids).update(restricted=True)
    _audit("privacy.restrict", request, actor, counts={"profiles": count})
    return {"profiles": count}


RUNNERS.update({Kind.ACCESS: _export, Kind.ERASURE: _erase, Kind.RESTRICTION: _restrict})


def _forget_exports(subject: Subject) -> None:
    """Earlier exports of the erased person go with them (files and the way to them)."""
    ids = list(subject.profile_ids) or [-1]
    _drop_exports(PrivacyRequest.objects.filter(profile_ids__overlap=ids))


def _drop_exports(requests) -> int:
    """The requests' export files are deleted once the transaction commits."""
    requests = requests.exclude(export_file="")
    names = list(requests.values_list("export_file", flat=True))
    requests.update(export_file="")
    transaction.on_commit(lambda: [archive.remove(name) for name in names])
    return len(names)


@transaction.atomic
def purge_exports(*, now=None) -> int:
    """Deletes the exports made longer ago than their link lives (a copy of a person's data
    is kept no longer than it may be downloaded); returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=archive.link_days())
    return _drop_exports(PrivacyRequest.objects.filter(completed_at__lt=cutoff))


@transaction.atomic
def lift_restriction(*, request: PrivacyRequest, actor=None) -> int:
    """Ends a restriction: the profiles it flagged may be activated again."""
    if request.kind != Kind.RESTRICTION or request.status != Status.COMPLETED:
        raise PrivacyError("Only a completed restriction can be lifted.")
    count = Profile.objects.filter(pk__in=request.profile_ids).update(restricted=False)
    _audit("privacy.restriction_lifted", request, actor, counts={"profiles": count})
    return count


def download_link_token(request: PrivacyRequest) -> str | None:
    """A fresh signed token for the request's export, None when it has none."""
    if not request.export_file:
        return None
    return archive.link_token(request.pk, request.export_file)


def export_kept_until(request: PrivacyRequest):
    """When the export is deleted (``purge_exports``), None without one."""
    if not request.export_file or request.completed_at is None:
        return None
    return request.completed_at + timedelta(days=archive.link_days())


def record_download(*, request: PrivacyRequest, actor=None) -> None:
    _audit("privacy.export_download", request, actor)


def _audit(action: str, request: PrivacyRequest, actor, **details) -> None:
    audit.record(
        action=action,
        actor=actor,
        target=request,
        details={
            "kind": request.kind,
            "identifier_kind": request.identifier_kind,
            "identifier_hash": request.identifier_hash,
            "profiles": list(request.profile_ids),
            **details,
        },
    )


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {part: n for part, n in counts.items() if n}
