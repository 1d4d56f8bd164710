from django.urls import path

from . import docs, views

urlpatterns = [
    path("v1/me", views.MeView.as_view(), name="api-me"),
    path("v1/tokens", views.TokenListView.as_view(), name="api-tokens"),
    path("v1/tokens/<int:pk>", views.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("v1/audit", views.AuditTrailView.as_view(), name="api-audit"),
    path("schema/", views.SchemaView.as_view(), name="api-schema"),
    path("docs/", views.DocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("docs/redoc.js", docs.redoc_script, name="api-docs-script"),
]
