"""Matching pages for admins (MANAGE_IDENTITY_RULES): the settings, the model (its
versions, the weights chart, training, explaining a pair) and the passes. The review
queue, for account managers too, is in review_views.py."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.permissions import Cap

from ..models import MatchModel, MatchRun, MatchSettings, Profile
from . import charts, decide, jobs, progress, selectors, services
from .forms import ExplainForm, SettingsForm, StartRunForm

ADMIN = Cap.MANAGE_IDENTITY_RULES
MODEL = "profiles/matching/model.html"
RUN = "profiles/matching/run.html"
HELD = {
    decide.UNVERIFIED: "only an unverified client asserted it",
    decide.UNIQUE_IDENTIFIER: "two different unique identifiers",
    decide.DECIDED: "a person rejected or unmerged it",
}


def held_label(reason: str) -> str:
    if reason.startswith("veto:"):
        return f"{reason[5:]} clearly differs (veto)"
    return HELD.get(reason, reason)


def _stale_context() -> dict:
    return {"latest": selectors.latest_model(), "stale": jobs.model_is_stale()}


@requires(ADMIN)
def settings_page(request):
    current = MatchSettings.load()
    form, status = SettingsForm.for_settings(current), 200
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                services.update_settings(actor=request.user, **form.changes())
            except services.MatchingError as error:
                form.add_matching_error(error)
            else:
                messages.success(request, "Matching settings saved.")
                return redirect("profiles:matching:settings")
        status = 400
    context = {"form": form, "section": "settings", **_stale_context()}
    return TemplateResponse(request, "profiles/matching/settings.html", context, status=status)


def _model_context(request, model: MatchModel | None, **extra) -> dict:
    levels = selectors.level_weights(model.splink) if model else []
    return {
        "section": "model",
        "models": MatchModel.objects.select_related("trained_by")[:50],
        "model": model,
        "levels": levels,
        "weights_chart": charts.weights_figure(levels) if levels else None,
        "training": jobs.training_status(),
        "explain_form": extra.pop("explain_form", None) or ExplainForm(),
        **_stale_context(),
        **extra,
    }


@requires(ADMIN)
@require_GET
def model_page(request):
    version = request.GET.get("version", "")
    model = (
        get_object_or_404(MatchModel, pk=version) if version.isdigit() else selectors.latest_model()
    )
    return TemplateResponse(request, MODEL, _model_context(request, model))


@requires(ADMIN)
@require_POST
def train(request):
    status = jobs.queue_training(actor=request.user)
    if request.htmx:
        return TemplateResponse(request, f"{MODEL}#training", {"training": status})
    messages.success(request, "Training queued: the model appears here when it is done.")
    return redirect("profiles:matching:model")


@requires(ADMIN)
@require_GET
def training(request):
    """The training's status part, polled while it is queued or running."""
    return TemplateResponse(request, f"{MODEL}#training", {"training": jobs.training_status()})


@requires(ADMIN)
@require_GET
def explain(request):
    """Why two profiles would score what they do with the latest model."""
    form, context, status = ExplainForm(request.GET), {}, 200
    if form.is_valid():
        try:
            explained = services.explain_profiles(**form.cleaned_data)
        except services.MatchingError as error:
            form.add_error(error.field if error.field in form.fields else None, error.reason)
        else:
            context = {"explanation": explained, "waterfall": charts.waterfall_figure(explained)}
    if form.errors:
        status = 400
    context["explain_form"] = form
    if request.htmx:
        return TemplateResponse(request, f"{MODEL}#explain", context, status=status)
    full = _model_context(request, selectors.latest_model(), **context)
    return TemplateResponse(request, MODEL, full, status=status)


@requires(ADMIN)
def runs(request):
    """The passes, newest first; POST starts a full pass or a dry run."""
    form, status = StartRunForm(request.POST or None), 200
    if request.method == "POST":
        if form.is_valid():
            try:
                run = jobs.start_pass(kind=form.cleaned_data["kind"], actor=request.user)
            except services.MatchingError as error:
                form.add_error(None, error.reason)
            else:
                return redirect("profiles:matching:run", pk=run.pk)
        status = 400
    shown = list(MatchRun.objects.select_related("started_by")[:100])
    for run in shown:
        run.held_shown = [(held_label(reason), n) for reason, n in sorted(run.held.items())]
    context = {
        "section": "runs",
        "runs": shown,
        "form": form,
        **_stale_context(),
    }
    return TemplateResponse(request, "profiles/matching/runs.html", context, status=status)


@requires(ADMIN)
@require_GET
def run_detail(request, pk: int):
    """A pass; htmx polls its status part while it runs."""
    run = get_object_or_404(MatchRun.objects.select_related("model", "started_by"), pk=pk)
    context = {"section": "runs", "run": run, **_run_figures(run)}
    name = f"{RUN}#status" if request.htmx else RUN
    return TemplateResponse(request, name, context)


def _run_figures(run: MatchRun) -> dict:
    """The held counts labelled, and the samples with each profile's display name."""
    ids = {i for sample in run.samples for i in sample.get("profiles", [])}
    names = {p.pk: str(p) for p in Profile.objects.filter(pk__in=ids)}
    samples = [
        {
            **sample,
            "people": [(i, names.get(i, f"Profile {i}")) for i in sample.get("profiles", [])],
            "held": [held_label(r) for r in sample.get("held_by", [])],
        }
        for sample in run.samples
    ]
    held = [(held_label(reason), count) for reason, count in sorted(run.held.items())]
    phase_label = progress.LABELS.get(run.phase, "Starting")
    return {"samples": samples, "held": held, "phase_label": phase_label}
