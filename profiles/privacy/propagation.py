"""An erasure reaches the destinations that received the person: one PropagationJob per
destination (an e-mail platform's list, an ad audience, a webhook, a CSV export), each
run on its own with retries, then a dead letter for a person to look at.

Which destinations received the person is known only to the apps that sent to them:
they ``register_recipient_source(fn)`` in AppConfig.ready(); ``fn(profile_ids)`` returns
destination ids (campaigns: its deliveries). The erasure deletes those records, so
``plan`` is asked first, in the erasure's transaction, and ``create_jobs`` writes the
jobs in it: an erasure that rolls back leaves no job, one that commits leaves every job.

A job (``run_due``, the task ``profiles.tasks.run_propagation_jobs``; beat every minute
as the safety net beside the queued run) is claimed with a lease (a worker killed
mid-call leaves it due again when the lease ends), the destination called outside any
transaction, the outcome recorded. A retryable failure waits ``retry_delay`` (1, 2, 4,
8, 16 minutes), and after ``MAX_ATTEMPTS`` attempts, or at once for a failure no retry
can fix, the job is "dead": its error on the request's page, where a person retries it
now (one more attempt) or marks it handled by hand with a note. A CSV export has no
API: its job waits for a person from the start.

The request stays "propagating" until every job succeeded or was handled by hand
(``_settle``), then completes. The person's identifiers travel encrypted on the job
(cdp_site.crypto) and are wiped when it succeeds or is handled. Every outcome is audited.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cdp_site import audit, crypto, outbox
from cdp_site.personal_data import Subject
from integrations.destinations import services as destinations
from integrations.destinations.base import DestinationError
from integrations.destinations.models import Destination

from ..models import PrivacyRequest, PropagationJob

logger = logging.getLogger(__name__)

RUN_TASK = "profiles.tasks.run_propagation_jobs"
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=5)  # longer than any destination's timeout
Status = PropagationJob.Status
Action = PropagationJob.Action

RecipientSource = Callable[[list[int]], Iterable[int]]
SOURCES: list[RecipientSource] = []


def register_recipient_source(fn: RecipientSource) -> None:
    """``fn(profile_ids)``: the ids of the destinations that received any of them."""
    if fn not in SOURCES:
        SOURCES.append(fn)


class JobError(Exception):
    """A job that cannot be retried or marked as asked; the message says why."""


def retry_delay(attempt: int) -> int:
    """Seconds after failed attempt ``attempt`` (1-based): 60, 120, 240 ... at most 1 h."""
    return min(60 * 2 ** (attempt - 1), 3600)


def plan(subject: Subject) -> list[Destination]:
    """The destinations that received the subject and hold something to delete (an SMTP
    relay holds nothing: no job). Asked before the erasure deletes what says so."""
    if not subject.profile_ids:
        return []
    ids: set[int] = set()
    for source in SOURCES:
        ids.update(source(list(subject.profile_ids)))
    reached = Destination.objects.filter(pk__in=ids).order_by("name", "id")
    return [d for d in reached if destinations.erasure_action(destination=d)]


def create_jobs(
    *, request: PrivacyRequest, subject: Subject, reached: list[Destination]
) -> list[PropagationJob]:
    """One job per destination, in the erasure's transaction; the run is queued for
    after its commit."""
    if not reached:
        return []
    person = {
        "request_id": request.pk,
        "profile_ids": list(subject.profile_ids),
        "emails": subject.values("email"),
        "phones": subject.values("phone"),
    }
    sealed, now = crypto.encrypt(json.dumps(person)), timezone.now()
    jobs = []
    for destination in reached:
        action = destinations.erasure_action(destination=destination)
        by_hand = action == Action.BY_HAND
        jobs.append(
            PropagationJob(
                request=request,
                destination=destination,
                destination_name=destination.name[:120],
                destination_kind=destination.kind,
                action=action,
                # The rows to delete by hand are named by the request's profile ids.
                status=Status.WAITING if by_hand else Status.PENDING,
                next_attempt_at=None if by_hand else now,
                person_encrypted="" if by_hand else sealed,
            )
        )
    PropagationJob.objects.bulk_create(jobs)
    if any(job.status == Status.PENDING for job in jobs):
        outbox.enqueue(RUN_TASK)
    return jobs


def unfinished(request: PrivacyRequest) -> bool:
    return request.propagation_jobs.exclude(status__in=PropagationJob.FINAL).exists()


# --- running ----------------------------------------------------------------------------


def run_due(*, now=None, limit: int = 100, budget: float = 30.0) -> int:
    """Runs the jobs whose time has come (a lapsed lease included), for at most about
    ``budget`` seconds (a slow destination waits for the next run, not the task's time
    limit); returns how many ran."""
    now = now or timezone.now()
    stop = time.monotonic() + budget
    due = PropagationJob.objects.filter(
        status__in=[Status.PENDING, Status.FAILED, Status.RUNNING], next_attempt_at__lte=now
    ).order_by("next_attempt_at", "id")
    ran = 0
    for job_id in list(due.values_list("pk", flat=True)[:limit]):
        if time.monotonic() > stop:
            outbox.enqueue(RUN_TASK)
            break
        ran += run_job(job_id=job_id, now=now) is not None
    return ran


def run_job(*, job_id: int, now=None) -> str | None:
    """One attempt of one job, if it is still due (None when another worker has it or it
    is no longer due); returns its status after the attempt."""
    now = now or timezone.now()
    job = _claim(job_id, now)
    if job is None:
        return None
    try:
        outcome = _call(job)
    except DestinationError as error:
        return _failed(job, error.message, retryable=error.retryable, now=now)
    except crypto.DecryptionError:
        message = "The person's identifiers cannot be decrypted (CDP_ENCRYPTION_KEYS changed)."
        return _failed(job, message, retryable=False, now=now)
    except Exception as error:  # noqa: BLE001 (a bug or an outage: recorded, retried)
        logger.exception("propagation job %s failed", job_id)
        return _failed(job, f"Unexpected error: {type(error).__name__}", retryable=True, now=now)
    return _succeeded(job, outcome, now=now)


@transaction.atomic
def _claim(job_id: int, now) -> PropagationJob | None:
    job = (
        PropagationJob.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("destination")
        .filter(pk=job_id, next_attempt_at__lte=now)
        .filter(status__in=[Status.PENDING, Status.FAILED, Status.RUNNING])
        .first()
    )
    if job is None:
        return None
    job.status, job.attempts, job.last_attempt_at = Status.RUNNING, job.attempts + 1, now
    job.next_attempt_at = now + LEASE
    job.save(update_fields=["status", "attempts", "last_attempt_at", "next_attempt_at"])
    return job


def _call(job: PropagationJob) -> str:
    if job.destination is None:
        raise DestinationError(
            f"{job.destination_name} was deleted: delete the person there by hand.",
            retryable=False,
        )
    person = json.loads(crypto.decrypt(job.person_encrypted))
    return destinations.erase_person(destination=job.destination, person=person)


def _locked_running(job: PropagationJob) -> PropagationJob | None:
    """The job, locked, if it is still the attempt we made (a person may have marked it
    handled meanwhile: their word stands)."""
    locked = PropagationJob.objects.select_for_update().get(pk=job.pk)
    return locked if locked.status == Status.RUNNING else None


@transaction.atomic
def _succeeded(job: PropagationJob, outcome: str, *, now) -> str:
    locked = _locked_running(job)
    if locked is None:
        return PropagationJob.objects.get(pk=job.pk).status
    _finish(locked, Status.SUCCEEDED, now=now, outcome=outcome[:300], last_error="")
    _audit("privacy.propagation_succeeded", locked, None)
    _settle(locked.request_id, now=now)
    return locked.status


@transaction.atomic
def _failed(job: PropagationJob, message: str, *, retryable: bool, now) -> str:
    locked = _locked_running(job)
    if locked is None:
        return PropagationJob.objects.get(pk=job.pk).status
    locked.last_error = message[:300]
    if retryable and locked.attempts < MAX_ATTEMPTS:
        wait = retry_delay(locked.attempts)
        locked.status, locked.next_attempt_at = Status.FAILED, now + timedelta(seconds=wait)
        locked.save(update_fields=["status", "next_attempt_at", "last_error"])
        outbox.enqueue(RUN_TASK, countdown=wait)
        return locked.status
    locked.status, locked.next_attempt_at = Status.DEAD, None
    locked.save(update_fields=["status", "next_attempt_at", "last_error"])
    _audit("privacy.propagation_dead", locked, None, error=locked.last_error)
    return locked.status


def _finish(job: PropagationJob, status: str, *, now, **fields) -> None:
    """A final state: the person's identifiers are wiped."""
    job.status, job.finished_at, job.next_attempt_at, job.person_encrypted = status, now, None, ""
    for name, value in fields.items():
        setattr(job, name, value)
    job.save()


def _settle(request_id: int, *, now) -> None:
    """Completes the request once every job succeeded or was handled by hand."""
    request = PrivacyRequest.objects.select_for_update().get(pk=request_id)
    if request.status != PrivacyRequest.Status.PROPAGATING or unfinished(request):
        return
    request.status, request.completed_at = PrivacyRequest.Status.COMPLETED, now
    request.save(update_fields=["status", "completed_at"])
    statuses = list(request.propagation_jobs.values_list("status", flat=True))
    audit.record(
        action="privacy.propagation_complete",
        target=request,
        details={s: statuses.count(s) for s in sorted(set(statuses))},
    )


# --- a person's actions -------------------------------------------------------------------


@transaction.atomic
def retry_now(*, job: PropagationJob, actor=None) -> PropagationJob:
    """One more attempt, as soon as a worker takes it (a failure after it is final again
    once the attempts are spent)."""
    locked = PropagationJob.objects.select_for_update().get(pk=job.pk)
    if locked.status not in (Status.FAILED, Status.DEAD):
        raise JobError(f"This job is {locked.get_status_display().lower()}: nothing to retry.")
    locked.status, locked.next_attempt_at = Status.PENDING, timezone.now()
    locked.save(update_fields=["status", "next_attempt_at"])
    _audit("privacy.propagation_retry", locked, actor)
    outbox.enqueue(RUN_TASK)
    return locked


@transaction.atomic
def mark_handled(*, job: PropagationJob, note: str, actor=None) -> PropagationJob:
    """A person deleted the data at the destination themselves (or checked there was
    none): the job is done, with their note."""
    note = (note or "").strip()
    if not note:
        raise JobError("Say what was done (the note is kept as the proof).")
    if len(note) > 1000:
        raise JobError("The note is longer than 1000 characters.")
    locked = PropagationJob.objects.select_for_update().get(pk=job.pk)
    if locked.is_final:
        raise JobError(f"This job is {locked.get_status_display().lower()} already.")
    now = timezone.now()
    _finish(locked, Status.HANDLED, now=now, handled_by=actor, handled_at=now, note=note)
    _audit("privacy.propagation_handled", locked, actor)
    _settle(locked.request_id, now=now)
    return locked


def _audit(action: str, job: PropagationJob, actor, **details) -> None:
    audit.record(
        action=action,
        actor=actor,
        target=job,
        details={
            "request": job.request_id,
            "destination": job.destination_id,
            "destination_name": job.destination_name,
            "job_action": job.action,
            "attempts": job.attempts,
            **details,
        },
    )
