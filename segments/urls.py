"""The segments pages, at /segments/: the list, the builder and a segment's own pages
(and the Customer 360 segment panel). The API is api/urls.py, at /api/v1/segments/."""

from django.urls import path

from . import detail_views, views
from .builder import views as builder_views

app_name = "segments"
urlpatterns = [
    path("", views.index, name="index"),
    # The builder (new and edit).
    path("new/", builder_views.new, name="new"),
    path("<int:pk>/edit/", builder_views.edit, name="edit"),
    path("builder/estimate/", builder_views.estimate, name="estimate"),
    path("builder/properties/", builder_views.properties, name="properties"),
    # A segment's pages.
    path("lists/new/", detail_views.new_list, name="new-list"),
    path("<int:pk>/", detail_views.detail, name="detail"),
    path("<int:pk>/status/", detail_views.status, name="status"),
    path("<int:pk>/members/", detail_views.members, name="members"),
    path("<int:pk>/recompute/", detail_views.recompute, name="recompute"),
    path("<int:pk>/upload/", detail_views.upload, name="upload"),
    path("<int:pk>/delete/", detail_views.delete, name="delete"),
    path("<int:pk>/export.csv", detail_views.export_csv, name="export"),
    # The segment panel of the Customer 360 page.
    path("profile/<int:profile_id>/panel/", detail_views.profile_panel, name="profile-panel"),
    path(
        "profile/<int:profile_id>/explain/",
        detail_views.profile_explain,
        name="profile-explain-any",
    ),
    path(
        "profile/<int:profile_id>/explain/<int:segment_id>/",
        detail_views.profile_explain,
        name="profile-explain",
    ),
]
