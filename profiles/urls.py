"""Pages of profiles, mounted at /profiles/ by cdp_site/urls.py: the profiles (namespace
``profiles``), under rules/ their rules (namespace ``profiles:profile-rules``) and under
privacy/ the data subject requests (namespace ``profiles:privacy``), under retention/
retention (namespace ``profiles:retention``) and under matching/ probabilistic matching
(namespace ``profiles:matching``)."""

from django.urls import include, path

from . import views
from .matching import review_views as matching_review
from .matching import views as matching_views
from .privacy import views as privacy_views
from .retention import views as retention_views
from .rules import views as rules_views

app_name = "profiles"

# Identity rules, computed traits, stage rules and survivorship: profiles/rules/views.py.
rules_urlpatterns = [
    path("", rules_views.index, name="index"),
    path("kinds/add/", rules_views.kind_add, name="kind-add"),
    path("kinds/<int:pk>/", rules_views.kind_detail, name="kind"),
    path("kinds/<int:pk>/edit/", rules_views.kind_edit, name="kind-edit"),
    path("blocked/add/", rules_views.blocked_add, name="blocked-add"),
    path("blocked/<int:pk>/remove/", rules_views.blocked_remove, name="blocked-remove"),
    path("settings/", rules_views.settings_save, name="settings"),
    path("dry-run/<str:key>/", rules_views.dry_run_status, name="dry-run"),
    path("sources/<int:pk>/", rules_views.source_save, name="source"),
    path("computed/", rules_views.computed_index, name="computed"),
    path("computed/event-names/", rules_views.computed_event_names, name="computed-event-names"),
    path("computed/<int:pk>/", rules_views.computed_edit, name="computed-edit"),
    path("computed/<int:pk>/delete/", rules_views.computed_delete, name="computed-delete"),
    path("computed/<int:pk>/progress/", rules_views.computed_progress, name="computed-progress"),
    path("stages/", rules_views.stages_index, name="stages"),
    path("stages/<int:pk>/", rules_views.stage_detail, name="stage"),
    path("traits/", rules_views.traits_index, name="traits"),
    path("traits/<int:pk>/", rules_views.trait_detail, name="trait"),
    path("personal-data/", rules_views.personal_data, name="personal-data"),
]

# Data subject requests: profiles/privacy/views.py.
privacy_urlpatterns = [
    path("", privacy_views.index, name="index"),
    path("new/", privacy_views.new, name="new"),
    path("<int:pk>/", privacy_views.detail, name="detail"),
    path("<int:pk>/run/", privacy_views.run, name="run"),
    path("<int:pk>/lift/", privacy_views.lift, name="lift"),
    path("<int:pk>/jobs/<int:job_pk>/retry/", privacy_views.retry_job, name="retry-job"),
    path("<int:pk>/jobs/<int:job_pk>/handled/", privacy_views.job_handled, name="job-handled"),
    path("download/<str:token>/", privacy_views.download, name="download"),
]

# Retention: profiles/retention/views.py.
retention_urlpatterns = [
    path("", retention_views.index, name="index"),
    path("settings/", retention_views.settings_save, name="settings"),
    path("rules/add/", retention_views.policy_add, name="rule-add"),
    path("rules/<int:pk>/", retention_views.policy_edit, name="rule"),
    path("rules/<int:pk>/delete/", retention_views.policy_delete, name="rule-delete"),
    path("preview/", retention_views.preview, name="preview"),
    path("run/", retention_views.run_now, name="run"),
    path("runs/", retention_views.runs, name="runs"),
]

# Probabilistic matching: profiles/matching/views.py (admins) and review_views.py.
matching_urlpatterns = [
    path("", matching_views.settings_page, name="settings"),
    path("model/", matching_views.model_page, name="model"),
    path("model/train/", matching_views.train, name="train"),
    path("model/training/", matching_views.training, name="training"),
    path("model/explain/", matching_views.explain, name="explain"),
    path("runs/", matching_views.runs, name="runs"),
    path("runs/<int:pk>/", matching_views.run_detail, name="run"),
    path("review/", matching_review.review, name="review"),
    path("review/<int:pk>/accept/", matching_review.accept, name="accept"),
    path("review/<int:pk>/reject/", matching_review.reject, name="reject"),
]

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/timeline/", views.timeline, name="timeline"),
    path("<int:pk>/notes/", views.add_note, name="add-note"),
    path("<int:pk>/consent/", views.edit_consent, name="edit-consent"),
    path("<int:pk>/traits/rectify/", views.rectify_trait, name="rectify-trait"),
    path("<int:pk>/traits/unrectify/", views.end_rectification, name="end-rectification"),
    path("<int:pk>/merges/<int:merge_id>/undo/", views.undo_merge, name="undo-merge"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("confirm-email/<str:token>/", views.confirm_email, name="confirm-email"),
    path("rules/", include((rules_urlpatterns, "profile-rules"))),
    path("privacy/", include((privacy_urlpatterns, "privacy"))),
    path("retention/", include((retention_urlpatterns, "retention"))),
    path("matching/", include((matching_urlpatterns, "matching"))),
]
