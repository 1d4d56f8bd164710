from django.urls import reverse

from .permissions import Cap, capabilities_of, role_of

NAVIGATION = [
    ("Dashboard", "dashboard", Cap.VIEW_DASHBOARDS),
    ("Profiles", "profiles:index", Cap.VIEW_PROFILES),
    ("Segments", "segments:index", Cap.VIEW_SEGMENTS),
    ("Campaigns", "campaigns:index", Cap.VIEW_CAMPAIGNS),
    ("Integrations", "integrations:index", Cap.VIEW_INTEGRATIONS),
    ("Insights", "insights", Cap.VIEW_DASHBOARDS),
    ("Settings", "settings", Cap.OWN_ACCOUNT),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    caps = capabilities_of(user)
    items = []
    for label, url_name, cap in NAVIGATION:
        if cap in caps:
            url = reverse(url_name)
            current = request.path == url or (url != "/" and request.path.startswith(url))
            items.append({"label": label, "url": url, "current": current})
    return {"nav_items": items, "user_role": role_of(user)}
