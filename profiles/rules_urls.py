"""Rules pages, mounted at /profiles/rules/."""

from django.urls import path

from . import rules_views as views

app_name = "profile-rules"
urlpatterns = [
    path("", views.index, name="index"),
    path("kinds/add/", views.kind_add, name="kind-add"),
    path("kinds/<int:pk>/", views.kind_detail, name="kind"),
    path("kinds/<int:pk>/edit/", views.kind_edit, name="kind-edit"),
    path("blocked/add/", views.blocked_add, name="blocked-add"),
    path("blocked/<int:pk>/remove/", views.blocked_remove, name="blocked-remove"),
    path("settings/", views.settings_save, name="settings"),
    path("dry-run/<str:key>/", views.dry_run_status, name="dry-run"),
    path("sources/<int:pk>/", views.source_save, name="source"),
    path("computed/", views.computed_index, name="computed"),
    path("computed/event-names/", views.computed_event_names, name="computed-event-names"),
    path("computed/<int:pk>/", views.computed_edit, name="computed-edit"),
    path("computed/<int:pk>/delete/", views.computed_delete, name="computed-delete"),
    path("computed/<int:pk>/progress/", views.computed_progress, name="computed-progress"),
    path("stages/", views.stages_index, name="stages"),
    path("stages/<int:pk>/", views.stage_detail, name="stage"),
    path("traits/", views.traits_index, name="traits"),
    path("traits/<int:pk>/", views.trait_detail, name="trait"),
]
