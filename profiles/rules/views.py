"""Rules pages: identity rules (kinds, blocked values, settings, sources), computed
traits, stage rules and trait survivorship. Everyone who reads profiles may read them;
only admins (MANAGE_IDENTITY_RULES) change them.

Changes to a kind's priority or limit, and to blocked values, are saved only after a dry
run of the same proposal has been shown (a signed token of the proposal comes back with
the "Save" button)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability
from integrations.models import Source

from ..computed.backfill import progress
from ..filters import EventNameFilter
from ..models import (
    BlockedValue,
    ComputedTrait,
    IdentifierKind,
    IdentitySettings,
    ProfileEvent,
    SourceIdentity,
    StageRule,
    TraitKey,
)
from . import dryrun_jobs, services
from .forms import (
    BlockedValueForm,
    ComputedTraitForm,
    KindCreateForm,
    KindForm,
    PersonalDataForm,
    PhoneRegionForm,
    SourceKindForm,
    StageRuleForm,
    TraitKeyForm,
)

IDENTITY = "profiles/rules/identity.html"
COMPUTED = "profiles/rules/computed.html"
STAGES = "profiles/rules/stages.html"
TRAITS = "profiles/rules/traits.html"
PERSONAL_DATA = "profiles/rules/personal_data.html"


def _render(request, template: str, partial: str | None, context: dict, status: int = 200):
    """The whole page, or only the named partial when htmx asks."""
    name = f"{template}#{partial}" if request.htmx and partial else template
    context.setdefault("can_edit", has_capability(request.user, Cap.MANAGE_IDENTITY_RULES))
    context.setdefault("can_grant", has_capability(request.user, Cap.MANAGE_USERS))
    return TemplateResponse(request, name, context, status=status)


# Reads of these pages


def event_names(query=None, limit: int = 50) -> list[str]:
    """The event names to offer, narrowed by ``query``'s ``event_name`` prefix if given."""
    names = EventNameFilter(query, queryset=ProfileEvent.objects.exclude(name="")).qs
    return list(names.order_by("name").values_list("name", flat=True).distinct()[:limit])


def _sources() -> list[dict]:
    chosen = dict(SourceIdentity.objects.values_list("source_id", "user_id_kind__name"))
    return [
        {
            "source": source,
            "form": SourceKindForm(
                initial={"kind": chosen.get(source.pk, "user_id")}, prefix=f"source-{source.pk}"
            ),
        }
        for source in Source.objects.order_by("name")
    ]


def _identity_context(**overrides) -> dict:
    context = {
        "kinds": IdentifierKind.objects.all(),
        "blocked_values": BlockedValue.objects.select_related("kind").order_by("value"),
        "blocked_form": BlockedValueForm(),
        "add_form": KindCreateForm(),
        "settings_form": PhoneRegionForm(
            initial={"region": IdentitySettings.load().default_phone_region}
        ),
        "sources": _sources(),
    }
    context.update(overrides)
    return context


# Identity rules


@requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_IDENTITY_RULES)
@require_GET
def index(request):
    context = _identity_context()
    editing = request.GET.get("edit", "")
    if editing.isdigit() and has_capability(request.user, Cap.MANAGE_IDENTITY_RULES):
        kind = get_object_or_404(IdentifierKind, pk=int(editing))
        context.update(editing=kind, form=KindForm(instance=kind))
    return _render(request, IDENTITY, None, context)


@requires(Cap.MANAGE_IDENTITY_RULES)
def kind_add(request):
    form = KindCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            kind = services.create_kind(**form.cleaned_data)
        except services.RulesError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Added the identifier kind {kind.label}.")
            if request.htmx:
                return _render(request, IDENTITY, "kinds", _identity_context())
            return redirect("profiles:profile-rules:index")
    status = 400 if request.method == "POST" else 200
    return _render(request, IDENTITY, "kind-add", _identity_context(add_form=form), status)


@requires(Cap.MANAGE_IDENTITY_RULES)
@require_GET
def kind_edit(request, pk: int):
    kind = get_object_or_404(IdentifierKind, pk=pk)
    context = _identity_context(editing=kind, kind=kind, form=KindForm(instance=kind))
    return _render(request, IDENTITY, "kind-edit", context)


@requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_IDENTITY_RULES)
def kind_detail(request, pk: int):
    """GET: the kind's row (cancelling an edit). POST: save, after a dry run when the
    priority or the limit changes."""
    kind = get_object_or_404(IdentifierKind, pk=pk)
    if request.method != "POST":
        return _render(request, IDENTITY, "kind-row", _identity_context(kind=kind))
    form = KindForm(request.POST, instance=kind)
    context = _identity_context(editing=kind, kind=kind, form=form)
    if not form.is_valid():
        return _render(request, IDENTITY, "kind-edit", context, status=400)
    rule_changes = form.rule_changes()
    proposal = {"kind": kind.name, "rules": rule_changes}
    if rule_changes and not services.dry_run_confirmed(proposal, request.POST.get("dry_run")):
        context.update(_dry_run(proposal, kinds={kind.name: rule_changes}))
        return _render(request, IDENTITY, "kind-edit", context)
    fields = {f: form.cleaned_data[f] for f in form.Meta.fields}
    kind = IdentifierKind.objects.get(pk=pk)  # the form changed the instance in place
    try:
        kind = services.update_kind(kind=kind, **fields)
    except services.RulesError as error:
        form.add_error(None, str(error))
        return _render(request, IDENTITY, "kind-edit", context, status=400)
    if request.htmx:
        return _render(request, IDENTITY, "kind-row", _identity_context(kind=kind, saved=True))
    messages.success(request, f"Saved {kind.label}.")
    return redirect("profiles:profile-rules:index")


def _dry_run(proposal: dict, **change) -> dict:
    """The dry run's figures (or its progress, for a large events table) and the token
    that lets the same proposal be saved."""
    digest = services.proposal_digest(proposal)
    return {
        "dry_run": dryrun_jobs.start(digest=digest, **change),
        "dry_run_token": services.dry_run_token_for(digest),
    }


@requires(Cap.MANAGE_IDENTITY_RULES)
@require_GET
def dry_run_status(request, key: str):
    """The polled fragment of a running dry run (inside the form that saves it)."""
    token = services.dry_run_token_for(dryrun_jobs.digest_of(key))
    context = {"dry_run": dryrun_jobs.status(key), "dry_run_token": token}
    return TemplateResponse(request, "profiles/rules/_dry_run.html", context)


def _blocked_section(request, *, status=200, **context):
    return _render(request, IDENTITY, "blocked", _identity_context(**context), status)


@requires(Cap.MANAGE_IDENTITY_RULES)
@require_POST
def blocked_add(request):
    form = BlockedValueForm(request.POST)
    if not form.is_valid():
        return _blocked_section(request, blocked_form=form, status=400)
    kind, value = form.cleaned_data["kind"], form.cleaned_data["value"]
    proposed = [*services.blocked_list(), (kind.name if kind else None, value)]
    proposal = {"blocked": sorted(proposed, key=lambda b: (b[0] or "", b[1]))}
    if not services.dry_run_confirmed(proposal, request.POST.get("dry_run")):
        return _blocked_section(
            request,
            blocked_form=form,
            **_dry_run(proposal, blocked=proposed),
        )
    try:
        services.add_blocked_value(kind=kind, value=value)
    except services.RulesError as error:
        form.add_error("value", str(error))
        return _blocked_section(request, blocked_form=form, status=400)
    messages.success(request, f"Blocked {value}.")
    if request.htmx:
        return _blocked_section(request, saved=True)
    return redirect("profiles:profile-rules:index")


@requires(Cap.MANAGE_IDENTITY_RULES)
@require_POST
def blocked_remove(request, pk: int):
    blocked = get_object_or_404(BlockedValue.objects.select_related("kind"), pk=pk)
    proposed = [
        (kind, value)
        for kind, value in services.blocked_list()
        if (kind, value) != (blocked.kind.name if blocked.kind else None, blocked.value)
    ]
    proposal = {"blocked": sorted(proposed, key=lambda b: (b[0] or "", b[1]))}
    if not services.dry_run_confirmed(proposal, request.POST.get("dry_run")):
        return _blocked_section(
            request,
            removing=blocked,
            **_dry_run(proposal, blocked=proposed),
        )
    services.remove_blocked_value(blocked=blocked)
    messages.success(request, f"{blocked.value} is no longer blocked.")
    if request.htmx:
        return _blocked_section(request, saved=True)
    return redirect("profiles:profile-rules:index")


@requires(Cap.MANAGE_IDENTITY_RULES)
@require_POST
def settings_save(request):
    form = PhoneRegionForm(request.POST)
    if not form.is_valid():
        return _render(request, IDENTITY, "settings", _identity_context(settings_form=form), 400)
    services.set_phone_region(region=form.cleaned_data["region"])
    if request.htmx:
        return _render(request, IDENTITY, "settings", _identity_context(settings_saved=True))
    messages.success(request, "Saved the default phone region.")
    return redirect("profiles:profile-rules:index")


@requires(Cap.MANAGE_IDENTITY_RULES)
@require_POST
def source_save(request, pk: int):
    source = get_object_or_404(Source, pk=pk)
    form = SourceKindForm(request.POST, prefix=f"source-{source.pk}")
    if not form.is_valid():
        return _render(request, IDENTITY, "sources", _identity_context(), 400)
    services.set_source_user_kind(source=source, kind=form.cleaned_data["kind"])
    if request.htmx:
        return _render(request, IDENTITY, "sources", _identity_context(source_saved=source))
    messages.success(request, f"Saved what {source.name}'s userId is.")
    return redirect("profiles:profile-rules:index")


# Computed traits


def _computed_context(**overrides) -> dict:
    traits = list(ComputedTrait.objects.all())
    for trait in traits:
        trait.progress = progress(trait.pk)
    context = {"traits": traits, "form": ComputedTraitForm(), "event_names": event_names()}
    context.update(overrides)
    return context


@requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_IDENTITY_RULES)
def computed_index(request):
    form = ComputedTraitForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                trait = services.save_computed_trait(**form.cleaned_data)
            except services.RulesError as error:
                form.add_error("key", str(error))
            else:
                messages.success(
                    request, f"Saved {trait.label}; it is being computed for everyone."
                )
                if request.htmx:
                    return _render(request, COMPUTED, "computed", _computed_context())
                return redirect("profiles:profile-rules:computed")
        return _render(request, COMPUTED, "computed-form", _computed_context(form=form), 400)
    return _render(request, COMPUTED, None, _computed_context())


@requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_IDENTITY_RULES)
def computed_edit(request, pk: int):
    trait = get_object_or_404(ComputedTrait, pk=pk)
    form = ComputedTraitForm(request.POST or None, instance=trait)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            fields = {f: form.cleaned_data[f] for f in form.Meta.fields}
            try:
                services.save_computed_trait(trait=ComputedTrait.objects.get(pk=pk), **fields)
            except services.RulesError as error:
                form.add_error("key", str(error))
            else:
                messages.success(request, f"Saved {fields['label']}; it is being recomputed.")
                return redirect("profiles:profile-rules:computed")
        status = 400
    context = {"trait": trait, "form": form, "event_names": event_names()}
    return _render(request, "profiles/rules/computed_edit.html", None, context, status)


@requires(Cap.MANAGE_IDENTITY_RULES)
@require_POST
def computed_delete(request, pk: int):
    trait = get_object_or_404(ComputedTrait, pk=pk)
    refused = None
    try:
        services.delete_computed_trait(trait=trait)
    except services.RulesError as error:  # a formula or score reads it
        refused = str(error)
        messages.error(request, refused)
    else:
        messages.success(request, f"Deleted {trait.label}.")
    if request.htmx:
        return _render(request, COMPUTED, "computed", _computed_context(refused=refused))
    return redirect("profiles:profile-rules:computed")


@requires(Cap.VIEW_PROFILES)
@require_GET
def computed_progress(request, pk: int):
    trait = get_object_or_404(ComputedTrait, pk=pk)
    trait.progress = progress(trait.pk)
    return _render(request, COMPUTED, "progress", {"trait": trait})


@requires(Cap.VIEW_PROFILES)
@require_GET
def computed_event_names(request):
    names = event_names(request.GET)
    return _render(request, COMPUTED, "event-names", {"event_names": names})


# Stage rules


@requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_IDENTITY_RULES)
@require_GET
def stages_index(request):
    return _render(request, STAGES, None, {"rules": StageRule.objects.all()})


@requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_IDENTITY_RULES)
def stage_detail(request, pk: int):
    """GET: the rule's row, or its form with ?edit. POST: save the rule."""
    rule = get_object_or_404(StageRule, pk=pk)
    if request.method != "POST":
        if "edit" in request.GET:
            if not has_capability(request.user, Cap.MANAGE_IDENTITY_RULES):
                raise PermissionDenied
            return _render(
                request, STAGES, "stage-edit", {"rule": rule, "form": StageRuleForm(instance=rule)}
            )
        return _render(request, STAGES, "stage-row", {"rule": rule})
    form = StageRuleForm(request.POST, instance=rule)
    context = {"rule": rule, "form": form, "rules": StageRule.objects.all(), "editing": rule}
    if not form.is_valid():
        return _render(request, STAGES, "stage-edit", context, 400)
    fields = {f: form.cleaned_data[f] for f in form.Meta.fields}
    try:
        rule = services.update_stage_rule(rule=StageRule.objects.get(pk=pk), **fields)
    except services.RulesError as error:
        form.add_error(None, str(error))
        return _render(request, STAGES, "stage-edit", context, 400)
    if request.htmx:
        return _render(request, STAGES, "stage-row", {"rule": rule, "saved": True})
    messages.success(request, f"Saved the {rule.get_stage_display()} rule.")
    return redirect("profiles:profile-rules:stages")


# Trait survivorship


@requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_IDENTITY_RULES)
@require_GET
def traits_index(request):
    return _render(request, TRAITS, None, {"trait_keys": TraitKey.objects.all()})


@requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_IDENTITY_RULES)
def trait_detail(request, pk: int):
    """GET: the trait's row, or its form with ?edit. POST: save type and strategy."""
    trait_key = get_object_or_404(TraitKey, pk=pk)
    if request.method != "POST":
        if "edit" in request.GET:
            if not has_capability(request.user, Cap.MANAGE_IDENTITY_RULES):
                raise PermissionDenied
            context = {
                "trait_key": trait_key,
                "form": TraitKeyForm(instance=trait_key),
                "editing": trait_key,
                "trait_keys": TraitKey.objects.all(),
            }
            return _render(request, TRAITS, "trait-edit", context)
        context = {"trait_key": trait_key, "trait_keys": TraitKey.objects.all()}
        return _render(request, TRAITS, "trait-row", context)
    form = TraitKeyForm(request.POST, instance=trait_key)
    context = {
        "trait_key": trait_key,
        "form": form,
        "trait_keys": TraitKey.objects.all(),
        "editing": trait_key,
    }
    if not form.is_valid():
        return _render(request, TRAITS, "trait-edit", context, 400)
    trait_key = services.update_trait_key(
        trait_key=TraitKey.objects.get(pk=pk),
        type=form.cleaned_data["type"],
        strategy=form.cleaned_data["strategy"],
        personal=form.cleaned_data["personal"],
    )
    if request.htmx:
        return _render(request, TRAITS, "trait-row", {"trait_key": trait_key, "saved": True})
    messages.success(request, f"Saved {trait_key.key}.")
    return redirect("profiles:profile-rules:traits")


# Who sees personal data in clear


@requires(Cap.MANAGE_USERS)
def personal_data(request):
    """The roles granted to see personal data (Cap.SEE_PERSONAL_DATA), and what is
    personal data: the kinds and trait keys marked so (each edited on its own page)."""
    form = PersonalDataForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_personal_data_roles(roles=form.cleaned_data["roles"])
        except services.RulesError as error:
            form.add_error("roles", str(error))
        else:
            messages.success(request, "Saved who sees personal data.")
            return redirect("profiles:profile-rules:personal-data")
    if not form.is_bound:
        form = PersonalDataForm(initial={"roles": services.personal_data_roles()})
    context = {
        "form": form,
        "kinds": IdentifierKind.objects.filter(personal=True),
        "trait_keys": TraitKey.objects.filter(personal=True),
    }
    return _render(request, PERSONAL_DATA, None, context, status=400 if form.errors else 200)
