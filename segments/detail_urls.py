"""A segment's pages (/segments/<id>/...) and the Customer 360 segment panel."""

from django.urls import path

from . import detail_views as views

urlpatterns = [
    path("lists/new/", views.new_list, name="new-list"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status/", views.status, name="status"),
    path("<int:pk>/members/", views.members, name="members"),
    path("<int:pk>/recompute/", views.recompute, name="recompute"),
    path("<int:pk>/upload/", views.upload, name="upload"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/export.csv", views.export_csv, name="export"),
    path("profile/<int:profile_id>/panel/", views.profile_panel, name="profile-panel"),
    path("profile/<int:profile_id>/explain/", views.profile_explain, name="profile-explain-any"),
    path(
        "profile/<int:profile_id>/explain/<int:segment_id>/",
        views.profile_explain,
        name="profile-explain",
    ),
]
