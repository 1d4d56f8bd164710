from django.urls import include, path

from . import views
from .imports import views as imports
from .quarantine import views as quarantine
from .webhooks import views as webhooks

app_name = "integrations"
urlpatterns = [
    path("", views.index, name="index"),
    # Destinations' pages: integrations/destinations/urls.py.
    path("destinations/", include("integrations.destinations.urls")),
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
    path("imports/<int:pk>/mapping/", imports.mapping, name="import-mapping"),
    path("sources/<int:pk>/webhook/", webhooks.config, name="source-webhook"),
    path(
        "sources/<int:pk>/webhook/rotate-secret/",
        webhooks.rotate_secret,
        name="source-webhook-rotate",
    ),
]
