"""Message templates (list, create, edit with inline syntax errors, preview as a chosen
profile, a test sent to oneself) and a campaign's results pages."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from cdp_site.access import requires
from cdp_site.confirm import Deletion, confirm_delete
from cdp_site.permissions import Cap, has_capability
from integrations.destinations import adapters
from integrations.destinations.models import Destination
from profiles import selectors as profile_selectors
from profiles.models import Identity, Profile

from . import results, templating
from .models import Campaign, MessageTemplate

MAX_CONTEXT = 20_000


class TemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["name", "subject", "body_html", "body_text"]
        labels = {"body_html": "HTML body", "body_text": "Plain-text body (optional)"}
        help_texts = {
            "subject": "e.g. “{{ traits.firstName|default:'Hi' }}, your cart is waiting”",
            "body_html": "Use {{ profile.email }}, {{ traits.firstName }}, "
            "{{ computed.<name> }} and the trigger as {{ event.<property> }}, e.g. "
            "{% for item in event.products %}{{ item.name }}{% endfor %}. Values are "
            "escaped. An unsubscribe link is added unless you place {{ unsubscribe_url }}.",
            "body_text": "Left empty, it is made from the HTML.",
        }
        widgets = {
            "body_html": forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
            "body_text": forms.Textarea(attrs={"rows": 6}),
        }

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                templating.validate_template(
                    subject=data.get("subject", ""),
                    body_html=data.get("body_html", ""),
                    body_text=data.get("body_text", ""),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        self.add_error(field, error)
        return data


class PreviewForm(forms.Form):
    profile = forms.CharField(
        label="Preview as (profile id or e-mail)", required=False, max_length=320
    )
    context = forms.CharField(
        label="Example trigger (JSON)",
        required=False,
        max_length=MAX_CONTEXT,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="The triggering event and its properties, as {{ event.… }} sees them.",
    )

    def clean_context(self):
        raw = self.cleaned_data["context"].strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ValidationError(f"Not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ValidationError('Give a JSON object, e.g. {"properties": {…}}.')
        return value

    def clean_profile(self):
        query = self.cleaned_data["profile"].strip()
        if not query:
            return None
        profile = find_profile(query)
        if profile is None:
            raise ValidationError(f"No profile with the id or e-mail {query!r}.")
        return profile


class TestSendForm(PreviewForm):
    destination = forms.ModelChoiceField(label="Send through", queryset=None, empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["destination"].queryset = Destination.objects.filter(
            kind=Destination.Kind.SMTP, enabled=True
        )


def find_profile(query: str):
    """A profile by its id or by an e-mail address (identity or trait); the survivor
    when it was merged."""
    profile = None
    if query.isdigit():
        profile = Profile.objects.filter(pk=int(query)).first()
    elif "@" in query:
        identity = (
            Identity.objects.filter(kind__name="email", value__iexact=query)
            .select_related("profile")
            .first()
        )
        profile = identity.profile if identity else None
        if profile is None:
            profile = Profile.objects.filter(
                merged_into__isnull=True, traits__email__iexact=query
            ).first()
    if profile is not None and profile.merged_into_id:
        profile = profile_selectors.surviving_profile(profile_id=profile.pk)
    return profile


def _example_context_json() -> str:
    return json.dumps(templating.EXAMPLE_CONTEXT, indent=2)


@requires(Cap.VIEW_CAMPAIGNS)
def message_list(request):
    return TemplateResponse(
        request,
        "campaigns/messages.html",
        {
            "templates": MessageTemplate.objects.all(),
            "can_manage": has_capability(request.user, Cap.MANAGE_CAMPAIGNS),
        },
    )


def _form_page(request, form, template=None, status=200):
    preview_form = PreviewForm(prefix="preview", initial={"context": _example_context_json()})
    test_form = TestSendForm(prefix="test", initial={"context": _example_context_json()})
    return TemplateResponse(
        request,
        "campaigns/messages_form.html",
        {
            "form": form,
            "template": template,
            "preview_form": preview_form,
            "test_form": test_form,
            "can_manage": has_capability(request.user, Cap.MANAGE_CAMPAIGNS),
            "user_email": request.user.email,
        },
        status=status,
    )


def _save(form, template=None):
    data = form.cleaned_data
    return templating.save_template(
        template=template,
        name=data["name"],
        subject=data["subject"],
        body_html=data["body_html"],
        body_text=data.get("body_text", ""),
    )


@requires(Cap.MANAGE_CAMPAIGNS)
def message_new(request):
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            template = _save(form)
            return redirect("campaigns:message-edit", pk=template.pk)
        return _form_page(request, form, status=422 if request.htmx else 200)
    return _form_page(
        request,
        TemplateForm(
            initial={
                "subject": "{{ traits.firstName|default:'Hi' }}, you left something behind",
                "body_html": (
                    "<p>Hi {{ traits.firstName|default:'there' }},</p>\n"
                    "<ul>\n{% for item in event.products %}"
                    "  <li>{{ item.name }} × {{ item.quantity }}</li>\n{% endfor %}</ul>\n"
                    '<p><a href="https://shop.example.com/cart">Back to your cart</a></p>'
                ),
            }
        ),
    )


@requires(Cap.VIEW_CAMPAIGNS, write=Cap.MANAGE_CAMPAIGNS)
def message_edit(request, pk):
    template = get_object_or_404(MessageTemplate, pk=pk)
    if request.method == "POST":
        form = TemplateForm(request.POST, instance=template)
        if form.is_valid():
            _save(form, MessageTemplate.objects.get(pk=pk))
            return redirect("campaigns:message-edit", pk=pk)
        return _form_page(request, form, template)
    return _form_page(request, TemplateForm(instance=template), template)


@requires(Cap.MANAGE_CAMPAIGNS)
def message_delete(request, pk):
    """Confirms, then deletes through campaigns.templating (refused while a campaign not
    finished sends it)."""
    template = get_object_or_404(MessageTemplate, pk=pk)
    return confirm_delete(
        request,
        Deletion(
            kind="message template",
            name=template.name,
            problem=lambda: templating.deletion_problem(template=template),
            delete=lambda: templating.delete_template(template=template),
            refused=(ValidationError,),
            consequences=lambda: [
                "The template is deleted. Messages already sent with it keep their record.",
            ],
            back_url=reverse("campaigns:message-edit", args=[template.pk]),
            done_url=reverse("campaigns:messages"),
        ),
    )


def _rendered_for(form, template):

    profile = form.cleaned_data.get("profile") or Profile(traits={}, computed={})
    return profile, templating.render(
        template=template, profile=profile, context=form.cleaned_data.get("context") or {}
    )


@requires(Cap.VIEW_CAMPAIGNS)
def message_preview(request, pk):
    template = get_object_or_404(MessageTemplate, pk=pk)
    form = PreviewForm(request.GET, prefix="preview")
    context = {"form": form, "template": template}
    if form.is_valid():
        try:
            context["profile"], context["rendered"] = _rendered_for(form, template)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
    return TemplateResponse(request, "campaigns/messages_preview.html", context)


@requires(Cap.MANAGE_CAMPAIGNS)
@require_POST
def message_test_send(request, pk):
    template = get_object_or_404(MessageTemplate, pk=pk)
    form = TestSendForm(request.POST, prefix="test")
    context = {"form": form, "template": template, "to": request.user.email}
    if not request.user.email:
        context["error"] = "Your account has no e-mail address to send the test to."
    elif form.is_valid():
        try:
            _, rendered = _rendered_for(form, template)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
        else:
            context.update(_send_test(form.cleaned_data["destination"], rendered, request))
    return TemplateResponse(request, "campaigns/messages_test.html", context)


def _send_test(destination, rendered, request) -> dict:
    try:
        adapters.send_email(
            destination,
            to=request.user.email,
            subject=f"[Test] {rendered.subject}",
            html=rendered.html,
            text=rendered.text,
        )
    except adapters.DestinationError as exc:
        return {"error": f"{destination.name} refused the test: {exc}"}
    return {"sent": True}


# --- results ---


def _pct(value, sign=False) -> str:
    if value is None:
        return "–"
    return f"{value * 100:+.1f}" if sign else f"{value * 100:.1f}%"


def _results_context(campaign):
    data = results.campaign_results(campaign)
    lift = data["lift"]
    return {
        "campaign": campaign,
        "results": data,
        "charts": results.charts(data),
        "lift_pct": {
            "treated_rate": _pct(lift.treated_rate),
            "holdout_rate": _pct(lift.holdout_rate),
            "difference": _pct(lift.difference, sign=True),
            "ci_low": _pct(lift.ci_low, sign=True),
            "ci_high": _pct(lift.ci_high, sign=True),
        },
        "funnel_id": f"funnel-chart-{campaign.pk}",
        "time_id": f"time-chart-{campaign.pk}",
    }


@requires(Cap.VIEW_CAMPAIGNS)
def campaign_results(request, campaign_id):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return TemplateResponse(request, "campaigns/results.html", _results_context(campaign))


@requires(Cap.VIEW_CAMPAIGNS)
def campaign_results_panel(request, campaign_id):
    """The results as a fragment, for the journey page's panel (loaded by htmx)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404
    return TemplateResponse(request, "campaigns/results_body.html", _results_context(campaign))
