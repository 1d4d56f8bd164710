"""The demo mailbox's pages (demo/mailbox.py): the messages the demo's SMTP server kept,
newest first, and one message (its HTML in a sandboxed frame, its text part, its
headers). Only in demo mode (CDP_MODE=demo): elsewhere every page answers 404, as if it
did not exist (after the sign-in every page asks for first, as everywhere). Any
signed-in role may read it: it holds demo data only."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from cdp_site.access import requires
from cdp_site.permissions import Cap

from . import mailbox

# Links in a message open in a new tab (a sandboxed frame cannot navigate itself away).
BASE = '<base target="_blank">'


def demo_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if settings.CDP_MODE != "demo":
            raise Http404("This page exists in demo mode only.")
        return view(request, *args, **kwargs)

    return wrapper


@requires(Cap.OWN_ACCOUNT)
@demo_only
@require_GET
def mailbox_index(request):
    messages, total = mailbox.latest()
    context = {"messages": messages, "total": total, "shown": len(messages)}
    return TemplateResponse(request, "demo/mailbox.html", context)


@requires(Cap.OWN_ACCOUNT)
@demo_only
@require_GET
def mailbox_message(request, message_id: str):
    message = mailbox.read(message_id)
    if message is None:
        raise Http404("No such message in the demo mailbox.")
    context = {"message": message, "srcdoc": BASE + message.html if message.html else ""}
    return TemplateResponse(request, "demo/mailbox_message.html", context)
