"""REST API of the integrations app (sources, events, imports, quarantine, destinations);
mounted at /api/v1/ by cdp_site/urls.py."""

from django.urls import include, path

from integrations.connectors import api_views as connections
from integrations.destinations import api_views as destinations
from integrations.tracking_plan import api_views as tracking_plans

from . import imports, quarantine, views

# At /api/v1/destinations/ (namespace "destinations-api").
destination_patterns = [
    path("", destinations.DestinationListView.as_view(), name="list"),
    path("dead-letters", destinations.DeadLetterListView.as_view(), name="dead-letters"),
    path(
        "dead-letters/<int:pk>/replay",
        destinations.DeadLetterReplayView.as_view(),
        name="dead-letter-replay",
    ),
    path("<int:pk>", destinations.DestinationDetailView.as_view(), name="detail"),
    path("<int:pk>/test", destinations.DestinationTestView.as_view(), name="test"),
]

# At /api/v1/connections/ (namespace "connections-api").
connection_patterns = [
    path("", connections.ConnectionListView.as_view(), name="list"),
    path("<int:pk>", connections.ConnectionDetailView.as_view(), name="detail"),
    path("<int:pk>/test", connections.ConnectionTestView.as_view(), name="test"),
    path("<int:pk>/preview", connections.ConnectionPreviewView.as_view(), name="preview"),
    path("<int:pk>/runs", connections.RunListView.as_view(), name="runs"),
    path("<int:pk>/runs/<int:run_pk>", connections.RunDetailView.as_view(), name="run"),
    path("<int:pk>/cancel", connections.CancelView.as_view(), name="cancel"),
    path("<int:pk>/pause", connections.PauseView.as_view(), name="pause"),
    path("<int:pk>/resume", connections.ResumeView.as_view(), name="resume"),
]

# At /api/v1/tracking-plans/ (namespace "tracking-plans-api").
tracking_plan_patterns = [
    path("", tracking_plans.PlanListView.as_view(), name="list"),
    path("infer", tracking_plans.PlanInferView.as_view(), name="infer"),
    path("<int:pk>", tracking_plans.PlanDetailView.as_view(), name="detail"),
    path("<int:pk>/violations", tracking_plans.PlanViolationListView.as_view(), name="violations"),
]

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
    path(
        "sources/<int:pk>/verification-secret",
        views.SourceVerificationSecretView.as_view(),
        name="api-source-verification-secret",
    ),
    path("events", views.EventListView.as_view(), name="api-events"),
    path("rejected-events", views.RejectedEventListView.as_view(), name="api-rejected-events"),
    path(
        "quarantined-events",
        quarantine.QuarantinedEventListView.as_view(),
        name="api-quarantined-events",
    ),
    path(
        "quarantined-events/counts",
        quarantine.QuarantineCountsView.as_view(),
        name="api-quarantine-counts",
    ),
    path(
        "quarantined-events/replay",
        quarantine.QuarantineReplayView.as_view(),
        name="api-quarantine-replay",
    ),
    path(
        "quarantined-events/<int:pk>/replay",
        quarantine.QuarantinedEventReplayView.as_view(),
        name="api-quarantined-event-replay",
    ),
    path("imports", imports.ImportListView.as_view(), name="api-imports"),
    path("imports/<int:pk>", imports.ImportDetailView.as_view(), name="api-import"),
    path("catalog/imports", imports.ProductImportView.as_view(), name="api-product-import"),
    path("imports/<int:pk>/start", imports.ImportStartView.as_view(), name="api-import-start"),
    path("imports/<int:pk>/errors", imports.ImportErrorsView.as_view(), name="api-import-errors"),
    path(
        "sources/<int:pk>/webhook", imports.SourceWebhookView.as_view(), name="api-source-webhook"
    ),
    path("destinations/", include((destination_patterns, "destinations-api"))),
    path("connections/", include((connection_patterns, "connections-api"))),
    path("tracking-plans/", include((tracking_plan_patterns, "tracking-plans-api"))),
    path("connector-kinds", connections.KindListView.as_view(), name="api-connector-kinds"),
]
