"""Asking a destination to forget an erased person (a privacy request's propagation,
profiles/privacy/propagation.py): one function per kind, reached through
``services.erase_person``. Each raises ``DestinationError(message, retryable=...)`` as the
adapters do, and returns what the destination answered, in words for the request's page.

``person``: {"request_id": int, "profile_ids": [int], "emails": [str], "phones": [str]},
the identifiers as identity resolution stores them (the campaign engine sent the same).

- ``esp_list`` (Mailchimp-style): ``POST {base_url}/lists/{list_id}/members/{md5}/actions/
  delete-permanent`` for each e-mail address. An unsubscribe would keep the address (and
  the member's history) in the list, which is not an erasure; the permanent delete also
  keeps the platform from re-importing the address, as the suppression list does here.
  A 404 is "not a member" only once the list itself answers (a wrong list id fails).
- ``google_customer_match``/``meta_custom_audience``: ``audience_update(action="remove")``
  with the hashed e-mail and phone (the audience only ever received the hashes).
- ``webhook``: a signed ``{"type": "delete", ...}`` POST with the idempotency key
  ``privacy-delete-<request>-<destination>`` (the receiver dedupes retries). It names the
  profile ids the receiver was sent, and an e-mail or phone only when the destination is
  configured to receive that trait (it already holds it; nothing new leaves).
- ``smtp``: nothing to call (a relay keeps no list; sent mail cannot be recalled): no job.
- ``csv_export``: files already written have no API: a person deletes the rows by hand.
"""

from __future__ import annotations

from itertools import zip_longest

from . import adapters
from .base import DestinationError, _config, _expect, _secret, _timeout
from .models import Destination

Kind = Destination.Kind

# What erasing a person means at each kind (None: nothing held there to delete).
ACTIONS: dict[str, str | None] = {
    Kind.ESP_LIST: "delete_member",
    Kind.GOOGLE_CUSTOMER_MATCH: "remove_from_audience",
    Kind.META_CUSTOM_AUDIENCE: "remove_from_audience",
    Kind.WEBHOOK: "delete_webhook",
    Kind.CSV_EXPORT: "by_hand",
    Kind.SMTP: None,
}


def idempotency_key(person: dict, destination: Destination) -> str:
    return f"privacy-delete-{person['request_id']}-{destination.pk}"


def delete_list_member(destination: Destination, person: dict) -> str:
    _expect(destination, Kind.ESP_LIST)
    emails = person.get("emails") or []
    if not emails:
        return "No e-mail address known: the list cannot hold the person."
    base = str(_config(destination, "base_url", required=True)).rstrip("/")
    list_id = _config(destination, "list_id", required=True)
    auth = {"Authorization": adapters._basic(_secret(destination, "api_key"))}
    timeout, answers = _timeout(destination), []
    for email in emails:
        url = f"{base}/lists/{list_id}/members/{adapters.member_hash(email)}"
        response = adapters._request(
            "POST", f"{url}/actions/delete-permanent", headers=auth, timeout=timeout
        )
        if response.status == 404:
            # The member is not there, or the list is not: the list must answer to tell.
            adapters._http("GET", f"{base}/lists/{list_id}", headers=auth, timeout=timeout)
            answers.append("not a member (HTTP 404)")
            continue
        problem = response.error()
        if problem is not None:
            raise DestinationError(problem.message, retryable=problem.retryable)
        answers.append(f"deleted (HTTP {response.status})")
    return f"List member{'s' if len(emails) > 1 else ''} " + ", ".join(answers) + "."


def remove_from_audience(destination: Destination, person: dict) -> str:
    emails, phones = person.get("emails") or [], person.get("phones") or []
    people = [{"email": e, "phone": p} for e, p in zip_longest(emails, phones)]
    removed = adapters.audience_update(destination, action="remove", people=people)
    if not removed:
        return "No usable e-mail or phone: the audience cannot hold the person."
    return f"Removed from the audience ({removed} hashed identifier set{'s' * (removed > 1)})."


def send_delete_webhook(destination: Destination, person: dict) -> str:
    selected = set((destination.config or {}).get("traits") or [])
    payload = {
        "type": "delete",
        "request_id": person["request_id"],
        "profile_ids": person.get("profile_ids") or [],
    }
    for trait, key in (("email", "emails"), ("phone", "phones")):
        if trait in selected and person.get(key):
            payload[key] = person[key]
    key = idempotency_key(person, destination)
    status = adapters.post_webhook(destination, payload=payload, idempotency_key=key)
    return f"Delete webhook accepted (HTTP {status})."


ERASERS = {
    "delete_member": delete_list_member,
    "remove_from_audience": remove_from_audience,
    "delete_webhook": send_delete_webhook,
}
