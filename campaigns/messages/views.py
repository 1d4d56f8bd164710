"""Message templates: the list, create, edit with inline syntax errors, preview as a
chosen profile, a test sent to oneself, delete."""

import json

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from cdp_site.access import requires
from cdp_site.confirm import Deletion, confirm_delete
from cdp_site.permissions import Cap, has_capability
from integrations.destinations import adapters
from profiles import masking
from profiles.models import Profile

from .. import sms_text, templating
from ..models import MessageTemplate
from .forms import PreviewForm, TemplateForm, TestSendForm


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
            "is_sms": (form["channel"].value() or "") == MessageTemplate.Channel.SMS,
            "sms_length": sms_text.describe(form["body_text"].value() or ""),
        },
        status=status,
    )


def _save(form, template=None):
    data = form.cleaned_data
    return templating.save_template(
        template=template,
        name=data["name"],
        channel=data["channel"],
        transactional=data.get("transactional", False),
        subject=data.get("subject", ""),
        body_html=data.get("body_html", ""),
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
            try:
                _save(form, MessageTemplate.objects.get(pk=pk))
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                return _form_page(request, form, template)
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


def _previewed(request, form):
    profile = form.cleaned_data.get("profile") or Profile(traits={}, computed={})
    # Rendered with the person's personal traits masked for whoever may not see them.
    return masking.masker_for_request(request).profile(profile)


def _rendered_for(request, form, template):
    profile = _previewed(request, form)
    return profile, templating.render(
        template=template, profile=profile, context=form.cleaned_data.get("context") or {}
    )


def _preview(request, form, template) -> dict:
    if template.channel == MessageTemplate.Channel.SMS:
        profile = _previewed(request, form)
        text = templating.render_sms(
            template=template, profile=profile, context=form.cleaned_data.get("context") or {}
        )
        return {"profile": profile, "sms": text, "sms_length": sms_text.describe(text)}
    profile, rendered = _rendered_for(request, form, template)
    return {"profile": profile, "rendered": rendered}


@requires(Cap.VIEW_CAMPAIGNS)
def message_preview(request, pk):
    template = get_object_or_404(MessageTemplate, pk=pk)
    form = PreviewForm(request.GET, prefix="preview")
    context = {"form": form, "template": template}
    if form.is_valid():
        try:
            context.update(_preview(request, form, template))
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
    return TemplateResponse(request, "campaigns/messages_preview.html", context)


@requires(Cap.MANAGE_CAMPAIGNS)
@require_POST
def message_test_send(request, pk):
    template = get_object_or_404(MessageTemplate, pk=pk)
    form = TestSendForm(request.POST, prefix="test")
    context = {"form": form, "template": template, "to": request.user.email}
    if template.channel != MessageTemplate.Channel.EMAIL:
        context["error"] = "Test sends are for e-mails; preview a text message instead."
    elif not request.user.email:
        context["error"] = "Your account has no e-mail address to send the test to."
    elif form.is_valid():
        try:
            _, rendered = _rendered_for(request, form, template)
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
