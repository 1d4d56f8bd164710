"""Public endpoints the channels call: an SMS provider's status callbacks and inbound
messages (signed with X-Twilio-Signature, keyed by the destination's auth token), and an
e-mail service's delivery events (signed with X-CDP-Signature, keyed by the SMTP
destination's events secret). The signature is their only authority; a request without
a valid one is refused with 403 and changes nothing.

The URL a signature covers is the one the provider was given: ``CDP_PUBLIC_URL`` and the
path, so a proxy in front of the site does not break the check."""

from __future__ import annotations

import hmac
import json

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cdp_site.access import public
from cdp_site.contact_points import normalize_email
from integrations.destinations import adapters, selectors, sms
from integrations.destinations.models import Destination

from . import channel_events, tracking
from .models import Delivery

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_EVENTS = 1000


def _signed_by_provider(request, destination: Destination | None) -> bool:
    if destination is None:
        return False
    url = tracking.base_url() + request.get_full_path()
    pairs = [(k, v) for k in request.POST for v in request.POST.getlist(k)]
    return sms.valid_signature(
        destination,
        url=url,
        params=pairs,
        signature_value=request.headers.get("X-Twilio-Signature", ""),
    )


def _refused(message: str, status: int = 403) -> JsonResponse:
    return JsonResponse({"error": {"message": message}}, status=status)


# CSRF exemption: the SMS provider posts these; the X-Twilio-Signature over the URL and
# every parameter, keyed by the destination's auth token, is the authority.
@public("SMS provider's delivery status callback: authorised by its X-Twilio-Signature")
@csrf_exempt
@require_POST
def sms_status(request, delivery_id):
    delivery = Delivery.objects.filter(pk=delivery_id, channel=Delivery.Channel.SMS).first()
    destination = Destination.objects.filter(pk=getattr(delivery, "destination_id", 0)).first()
    if not _signed_by_provider(request, destination):
        return _refused("The X-Twilio-Signature is missing or does not match.")
    status = request.POST.get("MessageStatus", "").strip().lower()
    if status not in channel_events.SMS_STATUSES:
        return _refused(
            f"MessageStatus must be one of {', '.join(channel_events.SMS_STATUSES)}.", 400
        )
    channel_events.sms_status(
        delivery_id=delivery.pk,
        status=status,
        error_code=request.POST.get("ErrorCode", "")[:10],
        sid=request.POST.get("MessageSid", ""),
    )
    return HttpResponse(status=204)


@public("SMS provider's inbound message webhook (STOP keywords): its X-Twilio-Signature")
@csrf_exempt
@require_POST
def sms_inbound(request, destination_id):
    destination = Destination.objects.filter(pk=destination_id, kind=Destination.Kind.SMS).first()
    if not _signed_by_provider(request, destination):
        return _refused("The X-Twilio-Signature is missing or does not match.")
    sender = request.POST.get("From", "").strip()
    if not sender:
        return _refused("From is required: the number the message came from.", 400)
    channel_events.sms_received(
        channel_events.Inbound(
            destination=destination,
            sender=sender,
            body=request.POST.get("Body", ""),
            sid=request.POST.get("MessageSid", ""),
        )
    )
    # An empty TwiML answer: the provider sends its own reply to STOP words.
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


def _signed_events(request, destination: Destination) -> bool:
    secret = selectors.get_secrets(destination=destination).get("events_secret", "")
    given = request.headers.get("X-CDP-Signature", "")
    return bool(secret) and hmac.compare_digest(adapters.sign(request.body, secret), given)


def _event_of(item) -> tuple[channel_events.EmailEvent | None, dict | None]:
    """One item of the body as an event, or the error naming its field."""
    if not isinstance(item, dict):
        return None, {"field": "", "message": "Each item is an object."}
    kind = item.get("type")
    if kind not in channel_events.EMAIL_EVENTS:
        allowed = ", ".join(channel_events.EMAIL_EVENTS)
        return None, {"field": "type", "message": f"type must be one of {allowed}."}
    address, message_id = item.get("email"), item.get("message_id") or ""
    if not isinstance(address, str) or normalize_email(address) is None:
        return None, {"field": "email", "message": "email must be an e-mail address."}
    if not isinstance(message_id, str):
        return None, {"field": "message_id", "message": "message_id is a text."}
    return channel_events.EmailEvent(type=kind, email=address, message_id=message_id), None


# CSRF exemption: an e-mail service posts these; the HMAC of the body is the authority.
@public("E-mail service's bounce/complaint/delivery webhook: authorised by X-CDP-Signature")
@csrf_exempt
@require_POST
def email_events(request, destination_id):
    """Body: a JSON list of ``{"type": "bounce"|"complaint"|"delivered", "email",
    "message_id"}``. Answers ``{"accepted": n, "errors": [{"index", "field",
    "message"}]}``: one bad item is set aside, the others applied."""
    destination = Destination.objects.filter(pk=destination_id, kind=Destination.Kind.SMTP).first()
    if destination is None:
        return _refused("No e-mail destination has this id.", 404)
    if not _signed_events(request, destination):
        return _refused("The X-CDP-Signature is missing or does not match.")
    try:
        items = json.loads(request.body or b"null")
    except ValueError:
        return _refused("The body is not JSON.", 400)
    if not isinstance(items, list) or len(items) > MAX_EVENTS:
        return _refused(f"The body is a JSON list of at most {MAX_EVENTS} events.", 400)
    accepted, errors = 0, []
    for index, item in enumerate(items):
        event, error = _event_of(item)
        if error:
            errors.append({"index": index, **error})
            continue
        channel_events.email_event(event, via="webhook")
        accepted += 1
    return JsonResponse({"accepted": accepted, "errors": errors})
