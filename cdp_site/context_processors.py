from django.conf import settings
from django.urls import reverse

from .permissions import Cap, capabilities_of, role_of

NAVIGATION = [
    ("Dashboard", "dashboard", Cap.VIEW_DASHBOARDS, ""),
    ("Profiles", "profiles:index", Cap.VIEW_PROFILES, "One profile per person, with its timeline."),
    ("Segments", "segments:index", Cap.VIEW_SEGMENTS, "Groups of people, fresh within seconds."),
    ("Campaigns", "campaigns:index", Cap.VIEW_CAMPAIGNS, "Journeys and messages that act on them."),
    ("Integrations", "integrations:index", Cap.VIEW_INTEGRATIONS, "Sources in, destinations out."),
    ("Insights", "insights:index", Cap.VIEW_DASHBOARDS, "How customers move through the journey."),
    ("Settings", "settings", Cap.OWN_ACCOUNT, "Your account, API tokens and users."),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    caps = capabilities_of(user)
    items = []
    for label, url_name, cap, blurb in NAVIGATION:
        if cap in caps:
            url = reverse(url_name)
            current = request.path == url or (url != "/" and request.path.startswith(url))
            items.append({"label": label, "url": url, "current": current, "blurb": blurb})
    if settings.CDP_MODE == "demo":  # the demo's mailbox (demo/urls.py), by its URL name
        url = reverse("demo:mailbox")
        current = request.path.startswith(url)
        blurb = "The e-mails the demo's journeys sent."
        items.append({"label": "Demo mailbox", "url": url, "current": current, "blurb": blurb})
    return {"nav_items": items, "user_role": role_of(user)}
