"""Destinations' REST API, mounted at /api/v1/destinations/."""

from django.urls import path

from . import api_views

app_name = "destinations-api"
urlpatterns = [
    path("", api_views.DestinationListView.as_view(), name="list"),
    path("dead-letters", api_views.DeadLetterListView.as_view(), name="dead-letters"),
    path(
        "dead-letters/<int:pk>/replay",
        api_views.DeadLetterReplayView.as_view(),
        name="dead-letter-replay",
    ),
    path("<int:pk>", api_views.DestinationDetailView.as_view(), name="detail"),
    path("<int:pk>/test", api_views.DestinationTestView.as_view(), name="test"),
]
