"""Privacy request pages (account managers and admins: HANDLE_PRIVACY_REQUESTS): the list
with each due date's countdown, a new request, a request's page (status polled while it
runs, counts, the export's link, the buttons that run it; an erasure's jobs at the
destinations with "retry now" and "handled by hand"), and the download behind the
signed link."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import F
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import public, requires
from cdp_site.permissions import Cap

from ..models import PrivacyRequest, PropagationJob
from . import archive, propagation, selectors, services
from .filters import PrivacyRequestFilter
from .forms import ConfirmForm, HandledForm, RequestForm

HANDLE = Cap.HANDLE_PRIVACY_REQUESTS
DETAIL = "profiles/privacy/detail.html"


@requires(HANDLE)
@require_GET
def index(request):
    filters = PrivacyRequestFilter(request.GET or None, queryset=selectors.requests())
    open_first = filters.qs.order_by(F("completed_at").desc(nulls_first=True), "due_at")
    context = {"requests": open_first[:200], "filter": filters}
    return TemplateResponse(request, "profiles/privacy/index.html", context)


@requires(HANDLE)
def new(request):
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_request(**form.cleaned_data, requested_by=request.user)
        except services.PrivacyError as error:
            form.add_error("identifier_value", str(error))
        else:
            messages.success(request, f"Recorded {created}.")
            return redirect("profiles:privacy:detail", pk=created.pk)
    status = 400 if form.errors else 200
    return TemplateResponse(request, "profiles/privacy/new.html", {"form": form}, status=status)


def download_url(request, privacy_request: PrivacyRequest) -> str | None:
    token = services.download_link_token(privacy_request)
    if token is None:
        return None
    return request.build_absolute_uri(reverse("profiles:privacy:download", args=[token]))


def _detail_context(request, privacy_request: PrivacyRequest, **extra) -> dict:
    jobs = list(selectors.propagation_jobs(privacy_request))
    return {
        "req": privacy_request,
        "jobs": jobs,
        "jobs_busy": selectors.jobs_busy(jobs),
        "handled_form": extra.pop("handled_form", None) or HandledForm(),
        "link": download_url(request, privacy_request),
        "link_days": archive.link_days(),
        "kept_until": services.export_kept_until(privacy_request),
        "confirm_form": extra.pop("confirm_form", None) or ConfirmForm(),
        **extra,
    }


@requires(HANDLE)
@require_GET
def detail(request, pk: int):
    """The request's page; htmx polls its status part while it runs."""
    privacy_request = get_object_or_404(selectors.requests(), pk=pk)
    name = f"{DETAIL}#status" if request.htmx else DETAIL
    return TemplateResponse(request, name, _detail_context(request, privacy_request))


@requires(HANDLE)
@require_POST
def run(request, pk: int):
    privacy_request = get_object_or_404(PrivacyRequest, pk=pk)
    confirm = ConfirmForm(request.POST)
    needs_confirmation = privacy_request.kind != PrivacyRequest.Kind.ACCESS
    if needs_confirmation and not confirm.is_valid():
        context = _detail_context(request, privacy_request, confirm_form=confirm)
        return TemplateResponse(request, DETAIL, context, status=400)
    try:
        services.start(request=privacy_request, actor=request.user)
    except services.PrivacyError as error:
        messages.error(request, str(error))
    return redirect("profiles:privacy:detail", pk=pk)


@requires(HANDLE)
@require_POST
def lift(request, pk: int):
    privacy_request = get_object_or_404(PrivacyRequest, pk=pk)
    try:
        count = services.lift_restriction(request=privacy_request, actor=request.user)
    except services.PrivacyError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Restriction lifted from {count} profile(s).")
    return redirect("profiles:privacy:detail", pk=pk)


def _job(pk: int, job_pk: int) -> PropagationJob:
    return get_object_or_404(PropagationJob, pk=job_pk, request_id=pk)


@requires(HANDLE)
@require_POST
def retry_job(request, pk: int, job_pk: int):
    """One more attempt at a failed or dead destination, now."""
    job = _job(pk, job_pk)
    try:
        propagation.retry_now(job=job, actor=request.user)
    except propagation.JobError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{job.destination_name}: trying again now.")
    return redirect("profiles:privacy:detail", pk=pk)


@requires(HANDLE)
@require_POST
def job_handled(request, pk: int, job_pk: int):
    """A person deleted the data at the destination themselves: the job is done."""
    job = _job(pk, job_pk)
    form = HandledForm(request.POST)
    if form.is_valid():
        try:
            propagation.mark_handled(job=job, note=form.cleaned_data["note"], actor=request.user)
        except propagation.JobError as error:
            form.add_error("note", str(error))
        else:
            messages.success(request, f"{job.destination_name}: marked handled by hand.")
            return redirect("profiles:privacy:detail", pk=pk)
    context = _detail_context(request, job.request, handled_form=form, handled_job=job.pk)
    return TemplateResponse(request, DETAIL, context, status=400)


@public("the signed, expiring link to an export is handed to the person who asked for it")
@require_GET
def download(request, token: str):
    refused = "profiles/privacy/link_refused.html"
    try:
        request_id, file_name = archive.read_link(token)
    except archive.LinkExpired:
        return TemplateResponse(request, refused, {"expired": True}, status=410)
    except archive.LinkInvalid:
        return TemplateResponse(request, refused, {}, status=403)
    privacy_request = PrivacyRequest.objects.filter(pk=request_id, export_file=file_name).first()
    path = archive.path_of(file_name)
    if privacy_request is None or not file_name or not path.is_file():
        return TemplateResponse(request, refused, {"gone": True}, status=410)
    services.record_download(request=privacy_request, actor=request.user)
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"privacy-request-{privacy_request.pk}.zip",
        content_type="application/zip",
    )
