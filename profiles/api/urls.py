"""REST API of profiles, mounted at /api/v1/ by cdp_site/urls.py: the profiles under
profiles/ (namespace ``profiles-api``), the privacy requests under privacy-requests/
(namespace ``privacy-api``, views in profiles/privacy/api_views.py), retention under
retention/ (namespace ``retention-api``, profiles/retention/api_views.py), matching under
matching/ (namespace ``matching-api``, views in profiles/matching/api_views.py) and their rules
(namespace ``profile-rules-api``, views in profiles/rules/api_views.py)."""

from django.urls import include, path

from ..matching import api_views as matching
from ..privacy import api_views as privacy
from ..retention import api_views as retention
from ..rules import api_views as rules
from . import rectification, views

profiles_urlpatterns = [
    path("", views.ProfileListView.as_view(), name="list"),
    path("merges/", views.MergeListView.as_view(), name="merges"),
    path("merges/<int:pk>/undo/", views.MergeUndoView.as_view(), name="merge-undo"),
    path("merge/", views.MergeView.as_view(), name="merge"),
    path("<int:pk>/", views.ProfileDetailView.as_view(), name="detail"),
    path("<int:pk>/identities/", views.IdentityListView.as_view(), name="identities"),
    path("<int:pk>/events/", views.EventListView.as_view(), name="events"),
    path("<int:pk>/timeline/", views.TimelineView.as_view(), name="timeline"),
    path("<int:pk>/notes/", views.NoteListView.as_view(), name="notes"),
    path("<int:pk>/consent/", views.ConsentView.as_view(), name="consent"),
    path(
        "<int:pk>/traits/<path:key>/rectify/", rectification.RectifyView.as_view(), name="rectify"
    ),
]

rules_urlpatterns = [
    path("identifier-kinds/", rules.IdentifierKindListView.as_view(), name="identifier-kinds"),
    path(
        "identifier-kinds/<int:pk>/",
        rules.IdentifierKindDetailView.as_view(),
        name="identifier-kind",
    ),
    path("blocked-values/", rules.BlockedValueListView.as_view(), name="blocked-values"),
    path("blocked-values/<int:pk>/", rules.BlockedValueDetailView.as_view(), name="blocked-value"),
    path("identity-rules/dry-run/", rules.DryRunView.as_view(), name="dry-run"),
    path("computed-traits/", rules.ComputedTraitListView.as_view(), name="computed-traits"),
    path(
        "computed-traits/<int:pk>/",
        rules.ComputedTraitDetailView.as_view(),
        name="computed-trait",
    ),
    path("trait-keys/", rules.TraitKeyListView.as_view(), name="trait-keys"),
    path("trait-keys/<int:pk>/", rules.TraitKeyDetailView.as_view(), name="trait-key"),
    path("personal-data/", rules.PersonalDataRolesView.as_view(), name="personal-data"),
    path("stage-rules/", rules.StageRuleListView.as_view(), name="stage-rules"),
    path("stage-rules/<int:pk>/", rules.StageRuleDetailView.as_view(), name="stage-rule"),
]

privacy_urlpatterns = [
    path("", privacy.PrivacyRequestListView.as_view(), name="list"),
    path("<int:pk>/", privacy.PrivacyRequestDetailView.as_view(), name="detail"),
    path("<int:pk>/run/", privacy.PrivacyRequestRunView.as_view(), name="run"),
    path(
        "<int:pk>/jobs/<int:job_pk>/retry/",
        privacy.PropagationJobRetryView.as_view(),
        name="retry-job",
    ),
    path(
        "<int:pk>/jobs/<int:job_pk>/handled/",
        privacy.PropagationJobHandledView.as_view(),
        name="job-handled",
    ),
]

retention_urlpatterns = [
    path("policies/", retention.PolicyListView.as_view(), name="policies"),
    path("policies/<int:pk>/", retention.PolicyDetailView.as_view(), name="policy"),
    path("settings/", retention.SettingsView.as_view(), name="settings"),
    path("preview/", retention.PreviewView.as_view(), name="preview"),
    path("runs/", retention.RunListView.as_view(), name="runs"),
    path("runs/<int:pk>/", retention.RunDetailView.as_view(), name="run"),
]

# Probabilistic matching (no trailing slashes, as the connections' API).
matching_urlpatterns = [
    path("settings", matching.SettingsView.as_view(), name="settings"),
    path("models", matching.ModelListView.as_view(), name="models"),
    path("models/training", matching.TrainingView.as_view(), name="training"),
    path("models/<int:pk>", matching.ModelDetailView.as_view(), name="model"),
    path("runs", matching.RunListView.as_view(), name="runs"),
    path("runs/<int:pk>", matching.RunDetailView.as_view(), name="run"),
    path("review-queue", matching.ReviewQueueView.as_view(), name="review-queue"),
    path("review-queue/<int:pk>/accept", matching.AcceptView.as_view(), name="accept"),
    path("review-queue/<int:pk>/reject", matching.RejectView.as_view(), name="reject"),
    path("explain", matching.ExplainView.as_view(), name="explain"),
]

urlpatterns = [
    path("profiles/", include((profiles_urlpatterns, "profiles-api"))),
    path("privacy-requests/", include((privacy_urlpatterns, "privacy-api"))),
    path("retention/", include((retention_urlpatterns, "retention-api"))),
    path("matching/", include((matching_urlpatterns, "matching-api"))),
    path("", include((rules_urlpatterns, "profile-rules-api"))),
]
