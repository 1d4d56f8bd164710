"""The personalisation pages: each source's public choices for GET /v1/personalize (which
on-site segments, which traits, the stage) and the web origins that may read them.
Admins change them (MANAGE_INTEGRATIONS, as for the source itself); whoever sees the
campaigns reads them (marketers flag the segments these pages offer)."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability
from integrations.models import Source

from . import settings as personalization

LIST = "campaigns/personalization/index.html"
DETAIL = "campaigns/personalization/detail.html"


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class PersonalizationForm(forms.Form):
    segments = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only segments a marketer flagged “Use on the website and in apps”.",
    )
    traits = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Trait or computed-trait names, one a line (e.g. plan). Every visitor "
        "with personalisation consent can read their own values of these: no personal data.",
    )
    stage = forms.BooleanField(label="Show the journey stage", required=False)
    origins = forms.CharField(
        label="Allowed origins",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The websites whose pages may read answers, one a line, e.g. "
        "https://shop.example. Apps and servers send no origin and need none.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segments"].queryset = personalization.on_site_segments()


def _initial(setting, source: Source) -> dict:
    return {
        "segments": list(setting.segments.all()) if setting.pk else [],
        "traits": "\n".join(setting.traits or ()),
        "stage": setting.stage,
        "origins": "\n".join(source.personalize_origins or ()),
    }


@requires(Cap.VIEW_CAMPAIGNS)
def index(request):
    sources = Source.objects.filter(archived_at=None).select_related("personalization")
    return TemplateResponse(request, LIST, {"sources": sources})


@requires(Cap.VIEW_CAMPAIGNS, write=Cap.MANAGE_INTEGRATIONS)
def detail(request, source_id: int):
    source = get_object_or_404(Source, pk=source_id, archived_at=None)
    setting = personalization.setting_for(source)
    form = PersonalizationForm(request.POST or None, initial=_initial(setting, source))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            personalization.save_settings(
                source=source,
                segment_ids=[s.pk for s in data["segments"]],
                traits=_lines(data["traits"]),
                stage=data["stage"],
                origins=_lines(data["origins"]),
                actor=request.user,
            )
        except personalization.PersonalizationError as error:
            for problem in error.errors:
                field = problem["field"] if problem["field"] in form.fields else None
                form.add_error(field, problem["message"])
        else:
            messages.success(request, "Saved: answers follow within seconds.")
            return redirect("campaigns:personalization-detail", source_id=source.pk)
    context = {
        "source": source,
        "form": form,
        "can_manage": has_capability(request.user, Cap.MANAGE_INTEGRATIONS),
    }
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, DETAIL, context, status=status)
