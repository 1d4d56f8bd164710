"""Profile pages: the list with search, and the Customer 360 page with its fragments."""

import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cdp_site.access import public, requires
from cdp_site.permissions import Cap, has_capability

from . import email_confirmation, masking, rectification, selectors, services
from .filters import ProfileFilter
from .forms import ConsentForm, MergeForm, NoteForm, RectifyForm, TimelineFilterForm
from .models import Merge, Profile

DETAIL = "profiles/profile_detail.html"
TIMELINE_PAGE = 30
LIST_PAGE = 50
SEARCH_LIMIT = 50


def _partial(request, template: str, partial: str) -> str:
    """Full page normally; just the named partial when htmx asks for it (not when it
    restores a page the list's pushed URLs left in the history: that needs all of it)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


def _active_or_redirect(profile_id: int):
    """(profile, None) for an active profile, (None, redirect) for a merged one."""
    active = selectors.active_profile_id(profile_id=profile_id)
    if active is None:
        raise Http404("No such profile.")
    if active != profile_id:
        return None, active
    return get_object_or_404(Profile, pk=profile_id), None


def _browse(request, filters: ProfileFilter) -> dict:
    """A page of the (filtered) list, the link to the next one, and the bounded total."""
    page = selectors.profile_page(
        queryset=filters.results, cursor=request.GET.get("cursor"), limit=LIST_PAGE
    )
    params = request.GET.copy()
    params.pop("cursor", None)
    first_page_query = params.urlencode()
    next_url = None
    if page.next_cursor:
        params["cursor"] = page.next_cursor
        next_url = reverse("profiles:index") + "?" + params.urlencode()
    return {
        "profiles": page.profiles,
        "next_url": next_url,
        "later_page": bool(request.GET.get("cursor")),
        "first_page_query": first_page_query,
        "total": selectors.count_profiles(queryset=filters.results, filtered=filters.active),
    }


def _search(q: str, filters: ProfileFilter, masker: masking.Masker) -> dict:
    """One page of best matches (no paging: a search narrows, it is not browsed)."""
    found = selectors.search_profiles(q=q, limit=SEARCH_LIMIT, masker=masker)
    kept = set(filters.results.filter(pk__in=[p.pk for p in found]).values_list("pk", flat=True))
    return {"profiles": [p for p in found if p.pk in kept]}


@requires(Cap.VIEW_PROFILES)
@require_GET
def index(request):
    """The list: every profile, most recently seen first, a page at a time, or a search;
    both narrowed by the filters (profiles/filters.py, shared with the API's list)."""
    q = request.GET.get("q", "").strip()[:200]
    filters = ProfileFilter(request.GET or None, queryset=selectors.active_profiles())
    context = {"q": q, "filter": filters, "search_limit": SEARCH_LIMIT}
    context["can_handle_privacy"] = has_capability(request.user, Cap.HANDLE_PRIVACY_REQUESTS)
    context["can_match"] = has_capability(request.user, Cap.MANAGE_IDENTITY_RULES)
    context["can_review"] = has_capability(request.user, Cap.MANAGE_PROFILES)
    masker = masking.masker_for_request(request)  # a search by e-mail finds, and shows masked
    context.update(_search(q, filters, masker) if q else _browse(request, filters))
    emails = selectors.emails_of(profile_ids=[p.pk for p in context["profiles"]])
    context["profiles"] = masker.profiles(context["profiles"])
    for profile in context["profiles"]:
        profile.email = masker.identity("email", emails.get(profile.pk, ""))
    return TemplateResponse(request, _partial(request, "profiles/index.html", "results"), context)


def _timeline_context(request, profile: Profile, masker: masking.Masker) -> dict:
    form = TimelineFilterForm(request.GET or None, sources=selectors.timeline_sources())
    if form.is_bound and not form.is_valid():  # its errors are shown instead
        page = selectors.TimelinePage(items=[], next_cursor=None)
    else:
        page = selectors.timeline(
            profile=profile,
            before=request.GET.get("cursor") or None,
            limit=TIMELINE_PAGE,
            **form.selection(),
        )
    next_url = None
    if page.next_cursor:
        params = request.GET.copy()
        params["cursor"] = page.next_cursor
        next_url = reverse("profiles:timeline", args=[profile.pk]) + "?" + params.urlencode()
    page.items = masker.timeline_items(page.items)
    for item in page.items:
        item.fields = _shown_properties(item)
    return {"timeline_form": form, "timeline": page, "next_url": next_url}


def _shown_properties(item) -> list[tuple[str, str, bool]]:
    """An event's properties as (key, text, whether the text is JSON of a nested value),
    for the timeline's expandable list (the template escapes them)."""
    properties = item.data.get("properties") if item.kind == "event" else None
    if not isinstance(properties, dict):
        return []
    shown = []
    for key in sorted(properties):
        value = properties[key]
        nested = isinstance(value, dict | list)
        text = json.dumps(value, indent=2, ensure_ascii=False) if nested else str(value)
        shown.append((str(key), text, nested))
    return shown


def _detail_context(request, profile: Profile, **extra) -> dict:
    user = request.user
    masker = masking.masker_for_request(request)
    context = {
        **masker.detail(selectors.profile_detail(profile=profile)),
        "can_note": has_capability(user, Cap.ADD_NOTES),
        "can_manage": has_capability(user, Cap.MANAGE_PROFILES),
        "note_form": NoteForm(),
        "consent_form": ConsentForm(),
        **_timeline_context(request, profile, masker),
        "panels": selectors.panels_for(profile_id=profile.pk),
    }
    context.update(
        _traits_context(profile, can_manage=context["can_manage"], traits=context["traits"])
    )
    context.update(extra)
    return context


def _traits_context(profile: Profile, *, can_manage: bool, form=None, traits=None) -> dict:
    """The traits with their provenance, each with its corrections made by hand (the
    standing one first), and the form to correct one for those who may."""
    if traits is None:
        traits = selectors.traits_with_provenance(profile=profile)
    corrections = rectification.history_of(profile_id=profile.pk)
    for trait in traits:
        trait.corrections = corrections.get(trait.key, [])
        trait.correction = next((c for c in trait.corrections if c.standing), None)
    form = form or (RectifyForm() if can_manage else None)
    return {"traits": traits, "rectify_form": form, "can_manage": can_manage}


@requires(Cap.VIEW_PROFILES)
@require_GET
def detail(request, pk: int):
    profile, survivor = _active_or_redirect(pk)
    if survivor is not None:
        return redirect("profiles:detail", pk=survivor)
    services.record_view(profile=profile, viewer=request.user, via="page")
    return TemplateResponse(request, DETAIL, _detail_context(request, profile))


@requires(Cap.VIEW_PROFILES)
@require_GET
def timeline(request, pk: int):
    """A page of the timeline: the whole section when the filters change, the next rows
    when the last row scrolls into view (``cursor``)."""
    profile, survivor = _active_or_redirect(pk)
    if survivor is not None:
        return redirect("profiles:detail", pk=survivor)
    masker = masking.masker_for_request(request)
    context = {"profile": profile, **_timeline_context(request, profile, masker)}
    if not request.htmx:
        return redirect("profiles:detail", pk=profile.pk)
    partial = "timeline-rows" if request.GET.get("cursor") else "timeline"
    return TemplateResponse(request, f"{DETAIL}#{partial}", context)


def _posted_to(pk: int) -> Profile:
    """The profile a form of its page was posted to: the one it was merged into, if so."""
    profile, survivor = _active_or_redirect(pk)
    return profile if survivor is None else get_object_or_404(Profile, pk=survivor)


def _section_answer(request, profile, section: str, context: dict, *, done: str, error: str = ""):
    """The answer to a form of the profile page: its section again (htmx), or the page
    with a message of what was ``done`` (or the ``error``)."""
    if not request.htmx:
        if done:
            messages.success(request, done)
        elif error:
            messages.error(request, error)
        return redirect("profiles:detail", pk=profile.pk)
    return TemplateResponse(request, f"{DETAIL}#{section}", {"profile": profile, **context})


@requires(Cap.VIEW_PROFILES, write=Cap.ADD_NOTES)
@require_POST
def add_note(request, pk: int):
    profile = _posted_to(pk)
    form = NoteForm(request.POST)
    added = False
    if form.is_valid():
        try:
            services.add_note(profile=profile, author=request.user, body=form.cleaned_data["body"])
            added, form = True, NoteForm()
        except services.ProfileError as exc:
            form.add_error("body", str(exc))
    context = {
        "notes": selectors.notes_of(profile=profile),
        "note_form": form,
        "note_added": added,
        "can_note": True,
    }
    return _section_answer(
        request,
        profile,
        "notes",
        context,
        done="Note added." if added else "",
        error=" ".join(form.errors.get("body", [])),
    )


@requires(Cap.MANAGE_PROFILES)
@require_POST
def undo_merge(request, pk: int, merge_id: int):
    merge = get_object_or_404(Merge, pk=merge_id)
    if pk not in (merge.survivor_id, merge.merged_id):
        raise Http404("No such merge on this profile.")
    try:
        services.unmerge(merge_id=merge.pk, actor=request.user)
        ok = True
        result = (
            f"Merge undone: profile {merge.merged_id} is separate again "
            f"from profile {merge.survivor_id}."
        )
    except services.ProfileError as exc:
        ok, result = False, str(exc)
    if not request.htmx:
        (messages.success if ok else messages.error)(request, result)
        return redirect("profiles:detail", pk=merge.survivor_id)
    # The page shows the survivor: swap the whole page body so traits, identities and
    # the timeline reflect the split too.
    profile = get_object_or_404(Profile, pk=merge.survivor_id)
    context = _detail_context(request, profile, merge_result=result, merge_ok=ok)
    return TemplateResponse(request, f"{DETAIL}#profile-body", context)


@requires(Cap.MANAGE_PROFILES)
def merge(request, pk: int):
    """A manual merge, as the API's: another profile (found by its id or a search) goes
    into this one. GET compares the two; POST merges through services.merge_profiles."""
    profile, survivor = _active_or_redirect(pk)
    if survivor is not None:
        return redirect("profiles:merge", pk=survivor)
    error, status = "", 200
    if request.method == "POST":
        form = MergeForm(request.POST)
        if form.is_valid():
            other = form.cleaned_data["other"]
            try:
                services.merge_profiles(survivor_id=profile.pk, merged_id=other, actor=request.user)
            except services.ProfileError as exc:
                error, status = str(exc), 400
            else:
                messages.success(
                    request,
                    f"Profile {other} was merged into this one. "
                    "Undo it from the merge history if it was a mistake.",
                )
                return redirect("profiles:detail", pk=profile.pk)
        q = request.POST.get("other", "")
    else:
        q = request.GET.get("other", "").strip()[:200]
    masker = masking.masker_for_request(request)
    candidates = selectors.merge_candidates(q=q, exclude=profile.pk, masker=masker)
    merged = selectors.merge_summary(profile=candidates[0]) if len(candidates) == 1 else None
    context = {
        "profile": masker.profile(profile),
        "q": q,
        "candidates": masker.profiles(candidates),
        "error": error,
        "survivor": masker.summary(selectors.merge_summary(profile=profile)),
        "merged": masker.summary(merged),
    }
    return TemplateResponse(request, "profiles/merge.html", context, status=status)


@requires(Cap.MANAGE_PROFILES)
@require_POST
def edit_consent(request, pk: int):
    profile = _posted_to(pk)
    form = ConsentForm(request.POST)
    saved = False
    if form.is_valid():
        evidence = {"via": "profile page"}
        if form.cleaned_data["note"]:
            evidence["note"] = form.cleaned_data["note"]
        try:
            services.record_consent(
                profile=profile,
                purpose=form.cleaned_data["purpose"],
                status=form.cleaned_data["status"],
                actor=request.user,
                evidence=evidence,
            )
            saved, form = True, ConsentForm()
            profile.refresh_from_db()
        except services.ProfileError as exc:
            form.add_error(None, str(exc))
    context = {
        "consent": selectors.consent_states(profile=profile),
        "consent_form": form,
        "consent_saved": saved,
        "can_manage": True,
    }
    done = "Consent recorded." if saved else ""
    return _section_answer(request, profile, "consent", context, done=done)


def _traits_answer(request, profile: Profile, *, done: str, form=None, error: str = ""):
    profile.refresh_from_db()
    context = {**_traits_context(profile, can_manage=True, form=form), "traits_saved": done}
    return _section_answer(request, profile, "traits", context, done=done, error=error)


@requires(Cap.MANAGE_PROFILES)
@require_POST
def rectify_trait(request, pk: int):
    """Corrects a trait's value by hand, with the reason (profiles/rectification.py)."""
    profile = _posted_to(pk)
    form = RectifyForm(request.POST)
    if form.is_valid():
        try:
            rectification.rectify_trait(
                profile_id=profile.pk, actor=request.user, **form.cleaned_data
            )
        except rectification.RectificationError as exc:
            for problem in exc.errors:
                form.add_error(problem["field"] or None, problem["message"])
        else:
            done = f"“{form.cleaned_data['key']}” corrected."
            return _traits_answer(request, profile, done=done)
    error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    return _traits_answer(request, profile, done="", form=form, error=error)


@requires(Cap.MANAGE_PROFILES)
@require_POST
def end_rectification(request, pk: int):
    """Removes a trait's correction: the sources' values compete for it again."""
    profile = _posted_to(pk)
    key = request.POST.get("key", "")[:120]
    try:
        rectification.end_rectification(profile_id=profile.pk, key=key, actor=request.user)
    except rectification.RectificationError as exc:
        return _traits_answer(request, profile, done="", error=str(exc))
    return _traits_answer(request, profile, done=f"The correction of “{key}” was removed.")


@public("the owner of an e-mail address confirms it from the link we sent (signed token)")
@require_http_methods(["GET", "POST"])
def confirm_email(request, token: str):
    """The double opt-in page: a GET shows a button (mail scanners follow links), the
    POST confirms."""
    template = "profiles/confirm_email.html"
    try:
        address = email_confirmation.read(token)
        if request.method == "POST":
            email_confirmation.confirm(token=token)
            return TemplateResponse(request, template, {"done": True, "address": address})
    except email_confirmation.BadLink:
        return TemplateResponse(request, template, {"invalid": True}, status=400)
    return TemplateResponse(request, template, {"address": address})
