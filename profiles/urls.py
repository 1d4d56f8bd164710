from django.urls import include, path

from . import views

app_name = "profiles"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/timeline/", views.timeline, name="timeline"),
    path("<int:pk>/notes/", views.add_note, name="add-note"),
    path("<int:pk>/consent/", views.edit_consent, name="edit-consent"),
    path("<int:pk>/merges/<int:merge_id>/undo/", views.undo_merge, name="undo-merge"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("confirm-email/<str:token>/", views.confirm_email, name="confirm-email"),
    # Identity rules, computed traits, stage rules: profiles/rules_urls.py.
    path("rules/", include("profiles.rules_urls")),
]
