"""The retention page, /profiles/retention/ (admins: MANAGE_ACCOUNT): the settings, the
rules (added, edited and deleted in place with htmx), what the next run will remove
(loaded after the page: it counts), the operational windows, "run now" and the last runs
(polled while one is going)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.permissions import Cap

from ..models import RetentionPolicy
from . import operational, selectors, services
from .forms import PolicyForm, SettingsForm, add_errors
from .rules import settings_row

MANAGE = Cap.MANAGE_ACCOUNT
PAGE = "profiles/retention/index.html"
RUNS_SHOWN = 20
EDIT = "edit"  # the edited rule's form beside the add form: its own ids


def _context(**extra) -> dict:
    runs = list(selectors.runs()[:RUNS_SHOWN])
    return {
        "policies": selectors.policies(),
        "settings_form": extra.pop("settings_form", None) or SettingsForm(instance=settings_row()),
        "policy_form": extra.pop("policy_form", None) or PolicyForm(),
        "runs": runs,
        "running": any(r.state == "running" for r in runs),
        "kept": operational.kept(),
        **extra,
    }


def _render(request, partial: str | None, status: int = 200, **extra):
    name = f"{PAGE}#{partial}" if request.htmx and partial else PAGE
    return TemplateResponse(request, name, _context(**extra), status=status)


@requires(MANAGE)
@require_GET
def index(request):
    editing = request.GET.get("edit", "")
    policy = RetentionPolicy.objects.filter(pk=editing).first() if editing.isdigit() else None
    edit_form = PolicyForm(instance=policy, prefix=EDIT) if policy else None
    return _render(request, None, editing=policy, edit_form=edit_form)


def _saved(request, form, save, *, partial: str, form_key: str, saved_key: str, done: str):
    """Saves a valid form through ``save`` (a service; its refusal shown at its fields),
    then the section again (htmx) or the page."""
    if form.is_valid():
        try:
            save(actor=request.user, **form.cleaned_data)
        except services.RetentionError as error:
            add_errors(form, error.errors)
    if form.errors:
        return _render(request, partial, 400, **{form_key: form})
    if request.htmx:
        return _render(request, partial, **{saved_key: True})
    messages.success(request, done)
    return redirect("profiles:retention:index")


@requires(MANAGE)
@require_POST
def settings_save(request):
    form = SettingsForm(request.POST, instance=settings_row())
    return _saved(
        request,
        form,
        services.update_settings,
        partial="settings",
        form_key="settings_form",
        saved_key="settings_saved",
        done="Saved the retention settings.",
    )


@requires(MANAGE)
@require_POST
def policy_add(request):
    return _saved(
        request,
        PolicyForm(request.POST),
        services.create_policy,
        partial="rules",
        form_key="policy_form",
        saved_key="saved",
        done="Added the rule.",
    )


@requires(MANAGE)
def policy_edit(request, pk: int):
    """GET: the rules with this one's form in place; POST: saves it."""
    policy = get_object_or_404(RetentionPolicy, pk=pk)
    form = PolicyForm(request.POST or None, instance=policy, prefix=EDIT)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_policy(policy=policy, actor=request.user, **form.cleaned_data)
        except services.RetentionError as error:
            add_errors(form, error.errors)
        else:
            if request.htmx:
                return _render(request, "rules", saved=True)
            messages.success(request, "Saved the rule.")
            return redirect("profiles:retention:index")
    status = 400 if form.errors else 200
    policy.refresh_from_db()  # the row shows what is saved, the form what was typed
    return _render(request, "rules", status, editing=policy, edit_form=form)


@requires(MANAGE)
@require_POST
def policy_delete(request, pk: int):
    policy = get_object_or_404(RetentionPolicy, pk=pk)
    services.delete_policy(policy=policy, actor=request.user)
    if request.htmx:
        return _render(request, "rules", saved=True)
    messages.success(request, "Deleted the rule.")
    return redirect("profiles:retention:index")


@requires(MANAGE)
@require_GET
def preview(request):
    """What the next run will remove (counted now: loaded after the page)."""
    return _render(request, "preview", plan=selectors.plan())


@requires(MANAGE)
@require_POST
def run_now(request):
    dry_run = request.POST.get("dry_run") == "1"
    services.start_run(actor=request.user, dry_run=dry_run)
    if request.htmx:
        return _render(request, "runs")
    messages.success(request, "Started a dry run." if dry_run else "Started a retention run.")
    return redirect("profiles:retention:index")


@requires(MANAGE)
@require_GET
def runs(request):
    return _render(request, "runs")
