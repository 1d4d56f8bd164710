"""Public endpoints behind the links in sent messages: the open pixel, click redirects
and the unsubscribe page. The signed token in the URL is the only authority they take."""

import base64

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from cdp_site.access import public

from . import tracking

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _no_store(response):
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex"
    return response


@public("Open pixel in sent e-mails: loaded by mail clients, authorised by its signed token")
@require_GET
def open_pixel(request, token):
    try:
        delivery_id = tracking.read_token(token, tracking.OPEN_SALT)
    except tracking.BadToken:
        return HttpResponseBadRequest("This link is not valid.", content_type="text/plain")
    tracking.record_open(delivery_id)
    return _no_store(HttpResponse(PIXEL, content_type="image/gif"))


@public("Click redirect in sent e-mails: goes only to the URL signed for that message")
@require_GET
def click(request, token):
    try:
        delivery_id = tracking.read_token(token, tracking.CLICK_SALT)
        url = tracking.read_url(delivery_id, request.GET.get("u", ""))
    except tracking.BadToken:
        # No fallback target: an unsigned or altered URL is refused, never followed.
        return HttpResponseBadRequest("This link is not valid.", content_type="text/plain")
    tracking.record_click(delivery_id)
    return _no_store(HttpResponseRedirect(url))


# CSRF exemption: RFC 8058 one-click unsubscribe is a POST sent by the mail provider
# (body "List-Unsubscribe=One-Click"), which can't carry our CSRF token or cookie. The
# signed token in the URL is the authority: it only ever withdraws e-mail consent of the
# person the message was sent to, which a forged cross-site request can't turn against
# anyone else (it needs the token, and the token already allows exactly this).
@public("Unsubscribe link in sent e-mails (and RFC 8058 one-click): its signed token")
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    try:
        delivery_id = tracking.read_token(token, tracking.UNSUBSCRIBE_SALT)
    except tracking.BadToken:
        return _no_store(
            TemplateResponse(
                request, "campaigns/messages_unsubscribe.html", {"invalid": True}, status=400
            )
        )
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        try:
            tracking.unsubscribe(
                delivery_id, via="one-click unsubscribe" if one_click else "unsubscribe link"
            )
        except tracking.BadToken:
            return HttpResponseBadRequest("This link is not valid.", content_type="text/plain")
        if one_click:
            return _no_store(HttpResponse("Unsubscribed.", content_type="text/plain"))
        return _no_store(
            TemplateResponse(request, "campaigns/messages_unsubscribe.html", {"done": True})
        )
    return _no_store(
        TemplateResponse(request, "campaigns/messages_unsubscribe.html", {"token": token})
    )
