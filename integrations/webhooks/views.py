"""The public webhook receiver and the admin page that configures a source's webhook."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cdp_site.access import public, requires
from cdp_site.api.errors import json_error_response
from cdp_site.permissions import Cap
from integrations import conf
from integrations import selectors as integration_selectors
from integrations.collect.body import client_ip, read_body
from integrations.collect.errors import CollectError

from . import services
from .forms import WebhookForm
from .models import WebhookConfig

TPL = "integrations/webhooks/config.html"


@public("authenticated by the webhook secret")
@csrf_exempt
def receive(request, token: str):
    """200 {"success": true, "stored", "duplicates", "rejected": [...]} once committed.

    Messages the mapping could not make valid are answered in ``rejected`` (and kept on
    the source's rejected list) with a 200 all the same: the sender retrying the same
    body would not fix them, and many senders switch a webhook off after repeated errors.
    """
    if request.method != "POST":
        response = json_error_response(
            status_code=405, code="method_not_allowed", message="Send webhooks with POST."
        )
        response["Allow"] = "POST"
        return response
    try:
        body = read_body(request, limit=conf.get("COLLECT_MAX_BATCH_BYTES"))
        delivery = services.receive(
            token=token,
            body=body,
            signature=request.headers.get(services.SIGNATURE_HEADER),
            ip=client_ip(request),
        )
    except CollectError as exc:
        return json_error_response(status_code=exc.status, code=exc.code, message=exc.message)
    except services.WebhookError as exc:
        return json_error_response(status_code=exc.status, code=exc.code, message=exc.message)
    result = delivery.result
    return JsonResponse(
        {
            "success": True,
            "stored": result.stored,
            "duplicates": result.duplicates,
            "rejected": [{"code": r.code, "reason": r.reason} for r in result.rejections],
        }
    )


def _page(request, context):
    """The webhook section (htmx) or page; an answer showing a new secret is not cached."""
    response = TemplateResponse(request, TPL + "#webhook" if request.htmx else TPL, context)
    if context.get("new_secret"):
        patch_cache_control(response, no_store=True)
    return response


def _context(request, source, config, form=None, **extra):
    hook_url = (
        request.build_absolute_uri(reverse("webhook-receive", args=[config.token]))
        if config is not None
        else None
    )
    if config is not None and form is None:
        form = WebhookForm(config=config)
    return {"source": source, "config": config, "form": form, "hook_url": hook_url, **extra}


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
def config(request, pk: int):
    """GET: the webhook section (htmx) or page. POST: enable it, or save the form."""
    source = get_object_or_404(integration_selectors.sources(), pk=pk)
    current = WebhookConfig.objects.filter(source=source).first()
    form = None
    saved = False
    new_secret = None
    if request.method == "POST":
        if current is None:
            current, new_secret = services.enable_webhook(source=source)
        else:
            form = WebhookForm(request.POST, config=current)
            if form.is_valid():
                services.update_webhook(config=current, **form.cleaned_data)
                form, saved = None, True
    context = _context(request, source, current, form, saved=saved, new_secret=new_secret)
    # The new secret is shown in this answer only: no redirect that would lose it.
    if request.method == "POST" and form is None and not request.htmx and not new_secret:
        messages.success(request, "Webhook saved.")
        return redirect("integrations:source-webhook", pk=source.pk)
    return _page(request, context)


@requires(Cap.MANAGE_INTEGRATIONS)
@require_POST
def rotate_secret(request, pk: int):
    source = get_object_or_404(integration_selectors.sources(), pk=pk)
    current = get_object_or_404(WebhookConfig, source=source)
    secret = services.rotate_secret(config=current, new_url=bool(request.POST.get("new_url")))
    return _page(request, _context(request, source, current, rotated=True, new_secret=secret))
