"""Mounted at /v1/ by cdp_site/urls.py: the Segment-compatible tracking API."""

from django.urls import path

from .collect import views

urlpatterns = [
    path("identify", views.identify, name="collect-identify"),
    path("track", views.track, name="collect-track"),
    path("page", views.page, name="collect-page"),
    path("screen", views.screen, name="collect-screen"),
    path("group", views.group, name="collect-group"),
    path("alias", views.alias, name="collect-alias"),
    path("batch", views.batch, name="collect-batch"),
    path("import", views.batch, name="collect-import"),
]
