"""A segment's pages: the detail page (rule, status, size over time, members, history),
recompute, the list upload and CSV export; and the segment panel of the Customer 360
page (memberships, why, entries and exits)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.confirm import Deletion, confirm_delete
from cdp_site.permissions import Cap, has_capability
from profiles import masking
from profiles import selectors as profile_selectors
from profiles.privacy import selectors as privacy_selectors

from . import explain, export, selectors, services, static_lists
from .forms import StaticListForm
from .models import Membership, Segment

DETAIL = "segments/detail.html"
PANEL = "segments/profile_panel.html"


def _edit_url(segment: Segment) -> str:
    return reverse("segments:edit", args=[segment.pk])


def _members_context(request, segment: Segment, cursor: str | None) -> dict:
    masker = masking.masker_for_request(request)
    page = selectors.members(segment=segment, masker=masker, cursor=cursor)
    next_url = None
    if page.next_cursor:
        next_url = reverse("segments:members", args=[segment.pk]) + f"?cursor={page.next_cursor}"
    return {"segment": segment, "members": page.members, "members_next": next_url}


def _status_context(segment: Segment) -> dict:
    return {"segment": segment}


@requires(Cap.VIEW_SEGMENTS)
@require_GET
def detail(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    can_manage = has_capability(request.user, Cap.MANAGE_SEGMENTS)
    context = {
        "segment": segment,
        "rule_text": explain.describe(segment.rule),
        "is_static": segment.kind == Segment.Kind.STATIC,
        "can_manage": can_manage,
        "edit_url": _edit_url(segment) if can_manage else None,
        # The export holds personal data in clear: offered to the roles that see it.
        "export_url": reverse("segments:export", args=[segment.pk])
        if has_capability(request.user, Cap.SEE_PERSONAL_DATA)
        else None,
        "chart": selectors.size_chart(segment=segment),
        "history": selectors.history(segment=segment, masker=masking.masker_for_request(request)),
        "used_by": selectors.users_of(segment=segment),
        **_members_context(request, segment, None),
    }
    return TemplateResponse(request, DETAIL, context)


@requires(Cap.VIEW_SEGMENTS)
@require_GET
def status(request, pk: int):
    """The status box alone: polled while a computation runs."""
    segment = get_object_or_404(Segment, pk=pk)
    if not request.htmx:
        return redirect("segments:detail", pk=pk)
    context = {
        "segment": segment,
        "can_manage": has_capability(request.user, Cap.MANAGE_SEGMENTS),
        "just_computed": bool(request.GET.get("was_computing")) and not segment.computing_since,
    }
    return TemplateResponse(request, f"{DETAIL}#status", context)


@requires(Cap.VIEW_SEGMENTS)
@require_GET
def members(request, pk: int):
    """The next page of members (the "load more" row asks for it)."""
    segment = get_object_or_404(Segment, pk=pk)
    if not request.htmx:
        return redirect("segments:detail", pk=pk)
    context = _members_context(request, segment, request.GET.get("cursor") or None)
    return TemplateResponse(request, f"{DETAIL}#member-rows", context)


@requires(Cap.MANAGE_SEGMENTS)
@require_POST
def recompute(request, pk: int):
    """Queues segments.tasks.recompute_segment (after commit) and marks it computing."""
    segment = get_object_or_404(Segment, pk=pk)
    with transaction.atomic():
        services.queue_recompute(segment=segment)
    segment.refresh_from_db()
    if not request.htmx:
        messages.success(request, "Recomputation queued.")
        return redirect("segments:detail", pk=pk)
    context = {"segment": segment, "can_manage": True, "queued": True}
    return TemplateResponse(request, f"{DETAIL}#status", context)


@requires(Cap.MANAGE_SEGMENTS)
@require_POST
def upload(request, pk: int):
    """Replaces (or adds to) an uploaded list's members from a CSV file."""
    segment = get_object_or_404(Segment, pk=pk, kind=Segment.Kind.STATIC)
    file = request.FILES.get("file")
    if file is None:
        messages.error(request, "Choose a CSV file to upload.")
        return redirect("segments:detail", pk=pk)
    mode = "add" if request.POST.get("mode") == "add" else "replace"
    try:
        result = static_lists.import_csv(segment=segment, file=file, mode=mode)
    except services.SegmentError as error:
        messages.error(request, str(error))
        return redirect("segments:detail", pk=pk)
    _report_upload(request, result)
    return redirect("segments:detail", pk=pk)


def _report_upload(request, result: static_lists.UploadResult) -> None:
    summary = (
        f"{result.rows} rows read: {result.matched} found, {result.not_found} not found, "
        f"{result.malformed} malformed. {result.entered} entered, {result.exited} left."
    )
    messages.success(request, summary)
    for problem in result.problems[:5]:
        messages.warning(request, f"Line {problem['line']}: {problem['error']}")


@requires(Cap.MANAGE_SEGMENTS)
def new_list(request):
    """A new uploaded-list segment from a CSV file (static_lists.create_static_segment_
    from_csv: an unreadable file creates nothing, and says why at its field)."""
    form = StaticListForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            segment, result = static_lists.create_static_segment_from_csv(
                name=data["name"],
                description=data["description"],
                file=data["file"],
                kind=data["kind"] or None,
                created_by=request.user,
            )
        except services.SegmentError as error:
            for problem in error.errors:
                field = problem.get("field")
                form.add_error(field if field in form.fields else None, problem["message"])
        else:
            _report_upload(request, result)
            return redirect("segments:detail", pk=segment.pk)
    status = 400 if form.errors else 200
    return TemplateResponse(request, "segments/new_list.html", {"form": form}, status=status)


@requires(Cap.MANAGE_SEGMENTS)
def delete(request, pk: int):
    """Confirms, then deletes through segments.services (refused while in use)."""
    segment = get_object_or_404(Segment, pk=pk)
    return confirm_delete(
        request,
        Deletion(
            kind="segment",
            name=segment.name,
            problem=lambda: services.deletion_problem(segment=segment),
            delete=lambda: services.delete_segment(segment=segment),
            refused=(services.SegmentError,),
            consequences=lambda: [
                f"Its {segment.member_count:,} members leave it; their profiles stay.",
                "Its history of entries and exits and its size over time are deleted.",
            ],
            back_url=reverse("segments:detail", args=[segment.pk]),
            done_url=reverse("segments:index"),
        ),
    )


@requires(Cap.VIEW_SEGMENTS)
@require_GET
def export_csv(request, pk: int):
    """The members as CSV, streamed (segments.export): personal data, so only for a role
    granted to see it, and audited."""
    segment = get_object_or_404(Segment, pk=pk)
    try:
        export.check_download(user=request.user)
    except export.Refused as refused:
        raise PermissionDenied(str(refused)) from None
    export.record_download(segment=segment, via="page")
    response = StreamingHttpResponse(
        export.stream_csv(segment=segment), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export.filename(segment=segment)}"'
    return response


# --- the Customer 360 panel --------------------------------------------------------------


def _active_profile(profile_id: int) -> int:
    active = profile_selectors.active_profile_id(profile_id=profile_id)
    if active is None:
        raise Http404("No such profile.")
    return active


@requires(Cap.VIEW_PROFILES)
@require_GET
def profile_panel(request, profile_id: int):
    """The segments the profile is in (since when, each with why), recent entries and
    exits, and a way to ask why (not) for any segment."""
    profile_id = _active_profile(profile_id)
    memberships = selectors.profile_memberships(profile_id=profile_id)
    member_of = {m.segment.pk for m in memberships}
    context = {
        "profile_id": profile_id,
        "memberships": memberships,
        "changes": selectors.profile_changes(
            profile_id=profile_id, masker=masking.masker_for_request(request), limit=10
        ),
        "other_segments": Segment.objects.filter(kind=Segment.Kind.DYNAMIC)
        .exclude(pk__in=member_of)
        .only("pk", "name"),
        "can_view_segments": has_capability(request.user, Cap.VIEW_SEGMENTS),
    }
    return TemplateResponse(request, PANEL, context)


def _restricted_out(segment: Segment, profile_id: int) -> bool:
    """A rule-based segment that leaves out the people a privacy request restricted, and
    this person is one: whatever the conditions say, they are no member."""
    if segment.kind != Segment.Kind.DYNAMIC or segment.include_restricted:
        return False
    profile = profile_selectors.surviving_profile(profile_id=profile_id)
    return profile is not None and privacy_selectors.is_restricted(profile)


@requires(Cap.VIEW_PROFILES)
@require_GET
def profile_explain(request, profile_id: int, segment_id: int | None = None):
    """Why the profile is (or is not) in a segment: condition by condition."""
    profile_id = _active_profile(profile_id)
    if segment_id is None:
        try:
            segment_id = int(request.GET.get("segment") or 0)
        except ValueError:
            segment_id = 0
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        if request.htmx:
            return TemplateResponse(request, f"{PANEL}#explanation", {"segment": None})
        raise Http404("No such segment.")
    membership = Membership.objects.filter(segment=segment, profile_id=profile_id).first()
    context = {
        "profile_id": profile_id,
        "segment": segment,
        "membership": membership,
        "explanation": explain.explain(
            rule=segment.rule, profile_id=profile_id, masker=masking.masker_for_request(request)
        ),
        "restricted_out": _restricted_out(segment, profile_id),
        "can_view_segments": has_capability(request.user, Cap.VIEW_SEGMENTS),
    }
    template = f"{PANEL}#explanation" if request.htmx else "segments/detail_explain.html"
    return TemplateResponse(request, template, context)
