"""REST API of the integrations app; mounted at /api/v1/ by cdp_site/urls.py."""

from django.urls import path

from . import imports, views

urlpatterns = [
    path("sources", views.SourceListView.as_view(), name="api-sources"),
    path("sources/<int:pk>", views.SourceDetailView.as_view(), name="api-source"),
    path("sources/<int:pk>/archive", views.SourceArchiveView.as_view(), name="api-source-archive"),
    path("sources/<int:pk>/restore", views.SourceRestoreView.as_view(), name="api-source-restore"),
    path(
        "sources/<int:pk>/rotate-key",
        views.SourceRotateKeyView.as_view(),
        name="api-source-rotate-key",
    ),
    path("events", views.EventListView.as_view(), name="api-events"),
    path("rejected-events", views.RejectedEventListView.as_view(), name="api-rejected-events"),
    path("imports", imports.ImportListView.as_view(), name="api-imports"),
    path("imports/<int:pk>", imports.ImportDetailView.as_view(), name="api-import"),
    path("imports/<int:pk>/start", imports.ImportStartView.as_view(), name="api-import-start"),
    path("imports/<int:pk>/errors", imports.ImportErrorsView.as_view(), name="api-import-errors"),
    path(
        "sources/<int:pk>/webhook", imports.SourceWebhookView.as_view(), name="api-source-webhook"
    ),
]
