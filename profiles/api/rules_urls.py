"""REST API of the rules of profiles; mounted at /api/v1/ by cdp_site/urls.py."""

from django.urls import path

from . import rules_views as views

app_name = "profile-rules-api"
urlpatterns = [
    path("identifier-kinds/", views.IdentifierKindListView.as_view(), name="identifier-kinds"),
    path(
        "identifier-kinds/<int:pk>/",
        views.IdentifierKindDetailView.as_view(),
        name="identifier-kind",
    ),
    path("blocked-values/", views.BlockedValueListView.as_view(), name="blocked-values"),
    path("blocked-values/<int:pk>/", views.BlockedValueDetailView.as_view(), name="blocked-value"),
    path("identity-rules/dry-run/", views.DryRunView.as_view(), name="dry-run"),
    path("computed-traits/", views.ComputedTraitListView.as_view(), name="computed-traits"),
    path(
        "computed-traits/<int:pk>/",
        views.ComputedTraitDetailView.as_view(),
        name="computed-trait",
    ),
    path("trait-keys/", views.TraitKeyListView.as_view(), name="trait-keys"),
    path("trait-keys/<int:pk>/", views.TraitKeyDetailView.as_view(), name="trait-key"),
    path("stage-rules/", views.StageRuleListView.as_view(), name="stage-rules"),
    path("stage-rules/<int:pk>/", views.StageRuleDetailView.as_view(), name="stage-rule"),
]
