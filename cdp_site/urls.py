from django.urls import include, path

from cdp_site import views

urlpatterns = [
    # First: the collection API is most of the requests, and Django tries the patterns in
    # order (the prefixes are distinct, so the order changes no URL).
    path("", include("integrations.urls")),
    path("", include("insights.dashboard.urls")),  # the home page: "dashboard"
    path("insights/", include("insights.urls")),
    path("settings/", views.account_settings, name="settings"),
    path("settings/tokens/", views.token_create, name="token-create"),
    path("settings/time-zone/", views.time_zone_update, name="time-zone"),
    path("settings/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("settings/users/", views.users, name="users"),
    path("settings/users/<int:pk>/", views.user_update, name="user-update"),
    path("settings/audit/", views.audit_trail, name="audit-trail"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("api/", include("cdp_site.api.urls")),
    path("api/v1/", include("integrations.api.urls")),
    path("api/v1/", include("profiles.api.urls")),  # profiles/ and the rules of profiles
    path("api/v1/segments/", include("segments.api.urls")),
    path("api/v1/campaigns/", include("campaigns.api.urls")),
    path("api/v1/insights/", include("insights.api.urls")),
    path("profiles/", include("profiles.urls")),
    path("segments/", include("segments.urls")),
    path("", include("campaigns.urls")),  # /campaigns/ and /t/ (tracking links)
    path("demo/", include("demo.urls")),  # the mailbox, the shop page: 404 outside demo mode
]

handler400 = "cdp_site.views.error_400"
handler403 = "cdp_site.views.error_403"
handler404 = "cdp_site.views.error_404"
handler500 = "cdp_site.views.error_500"
