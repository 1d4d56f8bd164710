"""REST API of the integrations app; mounted at /api/v1/ by cdp_site/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("sources", views.SourceListView.as_view(), name="api-sources"),
    path("sources/<int:pk>", views.SourceDetailView.as_view(), name="api-source"),
    path(
        "sources/<int:pk>/rotate-key",
        views.SourceRotateKeyView.as_view(),
        name="api-source-rotate-key",
    ),
    path("events", views.EventListView.as_view(), name="api-events"),
    path("rejected-events", views.RejectedEventListView.as_view(), name="api-rejected-events"),
]
