"""REST API of profiles; mounted at /api/v1/profiles/ by cdp_site/urls.py."""

from django.urls import path

from . import views

app_name = "profiles-api"
urlpatterns = [
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
]
