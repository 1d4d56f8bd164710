"""The integrations app's pages and public endpoints; cdp_site/urls.py mounts them at the root.

/v1/ (the collection API) comes first: it is most of the requests, and Django tries the
patterns in order (the prefixes are distinct, so the order changes no URL).
"""

from django.urls import include, path

from . import views
from .collect import personalize
from .collect import views as collect
from .connectors import views as connections
from .destinations import views as destinations
from .imports import views as imports
from .quarantine import views as quarantine
from .tracking_plan import views as tracking_plans
from .webhooks import views as webhooks

# The Segment-compatible tracking API, at /v1/.
collect_patterns = [
    # What a website or an app may show the visitor (the answer's content: campaigns).
    # First: its answer is one cache read, so trying the patterns below before it would
    # be a measurable share of its cost.
    path("personalize", personalize.personalize, name="collect-personalize"),
    path("identify", collect.identify, name="collect-identify"),
    path("track", collect.track, name="collect-track"),
    path("page", collect.page, name="collect-page"),
    path("screen", collect.screen, name="collect-screen"),
    path("group", collect.group, name="collect-group"),
    path("alias", collect.alias, name="collect-alias"),
    path("batch", collect.batch, name="collect-batch"),
    path("import", collect.batch, name="collect-import"),
    # Segment's analytics.js 2.0 (@segment/analytics-next) posts each call to the first
    # letter of its type, and its mobile libraries post batches to /v1/b.
    path("i", collect.identify, name="collect-i"),
    path("t", collect.track, name="collect-t"),
    path("p", collect.page, name="collect-p"),
    path("s", collect.screen, name="collect-s"),
    path("g", collect.group, name="collect-g"),
    path("a", collect.alias, name="collect-a"),
    path("b", collect.batch, name="collect-b"),
]

destination_patterns = [
    path("", destinations.destination_list, name="destination-list"),
    path("new/", destinations.destination_create, name="destination-create"),
    path("dead-letters/", destinations.dead_letter_list, name="dead-letter-list"),
    path(
        "dead-letters/<int:pk>/replay/", destinations.dead_letter_replay, name="dead-letter-replay"
    ),
    path("<int:pk>/", destinations.destination_detail, name="destination-detail"),
    path("<int:pk>/edit/", destinations.destination_edit, name="destination-edit"),
    path("<int:pk>/delete/", destinations.destination_delete, name="destination-delete"),
    path("<int:pk>/test/", destinations.destination_test, name="destination-test"),
]

connection_patterns = [
    path("", connections.connection_list, name="connection-list"),
    path("new/", connections.connection_create, name="connection-create"),
    path("<int:pk>/", connections.connection_detail, name="connection-detail"),
    path("<int:pk>/edit/", connections.connection_edit, name="connection-edit"),
    path("<int:pk>/test/", connections.connection_test, name="connection-test"),
    path("<int:pk>/preview/", connections.connection_preview, name="connection-preview"),
    path("<int:pk>/run/", connections.connection_run, name="connection-run"),
    path("<int:pk>/pause/", connections.connection_pause, name="connection-pause"),
    path("<int:pk>/cancel/", connections.connection_cancel, name="connection-cancel"),
    path("<int:pk>/delete/", connections.connection_delete, name="connection-delete"),
    path("<int:pk>/runs/<int:run_pk>/", connections.run_detail, name="connection-run-detail"),
]

tracking_plan_patterns = [
    path("", tracking_plans.plan_list, name="tracking-plan-list"),
    path("infer/", tracking_plans.plan_infer, name="tracking-plan-infer"),
    path("<int:pk>/", tracking_plans.plan_detail, name="tracking-plan-detail"),
    path("<int:pk>/delete/", tracking_plans.plan_delete, name="tracking-plan-delete"),
    path("<int:pk>/sources/", tracking_plans.sources_save, name="tracking-plan-sources"),
    path("<int:pk>/traits/", tracking_plans.traits_save, name="tracking-plan-traits"),
    path("<int:pk>/events/", tracking_plans.event_add, name="tracking-plan-event-add"),
    path("<int:pk>/events/<int:event_pk>/", tracking_plans.event_save, name="tracking-plan-event"),
    path(
        "<int:pk>/events/<int:event_pk>/delete/",
        tracking_plans.event_delete,
        name="tracking-plan-event-delete",
    ),
]

# The admin pages, at /integrations/ (namespace "integrations").
page_patterns = [
    path("", views.index, name="index"),
    path("destinations/", include(destination_patterns)),
    path("connections/", include(connection_patterns)),
    path("tracking-plans/", include(tracking_plan_patterns)),
    path("quarantine/", quarantine.quarantine_list, name="quarantine"),
    path("quarantine/replay/", quarantine.quarantine_replay, name="quarantine-replay"),
    path("sources/new/", views.source_create, name="source-create"),
    path("sources/<int:pk>/", views.source_detail, name="source-detail"),
    path("sources/<int:pk>/edit/", views.source_edit, name="source-edit"),
    path("sources/<int:pk>/rotate-key/", views.source_rotate_key, name="source-rotate-key"),
    path(
        "sources/<int:pk>/rotate-verification-secret/",
        views.source_rotate_verification_secret,
        name="source-rotate-verification-secret",
    ),
    path("sources/<int:pk>/archive/", views.source_archive, name="source-archive"),
    path("sources/<int:pk>/restore/", views.source_restore, name="source-restore"),
    path("sources/<int:pk>/delete/", views.source_delete, name="source-delete"),
    path("sources/<int:pk>/imports/", imports.source_imports, name="source-imports"),
    path("sources/<int:pk>/imports/new/", imports.upload, name="import-upload"),
    path("imports/<int:pk>/", imports.detail, name="import-detail"),
    path("catalog/import/", imports.product_import, name="product-import"),
    path("imports/<int:pk>/mapping/", imports.mapping, name="import-mapping"),
    path("sources/<int:pk>/webhook/", webhooks.config, name="source-webhook"),
    path(
        "sources/<int:pk>/webhook/rotate-secret/",
        webhooks.rotate_secret,
        name="source-webhook-rotate",
    ),
]

urlpatterns = [
    path("v1/", include(collect_patterns)),
    path("integrations/", include((page_patterns, "integrations"))),
    # Public inbound webhook receivers.
    path("hooks/<str:token>", webhooks.receive, name="webhook-receive"),
]
