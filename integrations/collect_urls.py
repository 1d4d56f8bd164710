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
    # Segment's analytics.js 2.0 (@segment/analytics-next) posts each call to the first
    # letter of its type, and its mobile libraries post batches to /v1/b.
    path("i", views.identify, name="collect-i"),
    path("t", views.track, name="collect-t"),
    path("p", views.page, name="collect-p"),
    path("s", views.screen, name="collect-s"),
    path("g", views.group, name="collect-g"),
    path("a", views.alias, name="collect-a"),
    path("b", views.batch, name="collect-b"),
]
