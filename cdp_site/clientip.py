"""The client's address, the same everywhere it matters (see CDP_TRUSTED_PROXY_COUNT).

Behind N trusted reverse proxies, each proxy appends the address it received the
request from to X-Forwarded-For, so the N-th entry from the right is the address the
first of our proxies saw: the client. Entries to the left of it are whatever the client
sent and can be forged. With no trusted proxy the header is ignored. The login rate
limits (ALLAUTH_TRUSTED_PROXY_COUNT) and the REST API's throttles (NUM_PROXIES) are set
from the same number and read the header the same way.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.CDP_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    # Fewer entries than proxies: the left-most is the nearest to the client there is,
    # as Django REST framework and allauth read it.
    candidate = hops[-min(count, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:  # a proxy that writes something else: the direct peer is all we know
        return remote
