from django.urls import path

from insights.rfm import api as rfm_api

from . import views

app_name = "insights-api"

urlpatterns = [
    path("journey/", views.JourneyView.as_view(), name="journey"),
    path("journey/people/", views.JourneyPeopleView.as_view(), name="journey-people"),
    path("retention/", views.RetentionView.as_view(), name="retention"),
    path("paths/", views.PathsView.as_view(), name="paths"),
    path("funnel/", views.FunnelView.as_view(), name="funnel"),
    path("rfm/", rfm_api.RfmView.as_view(), name="rfm"),
    path("rfm/people/", rfm_api.RfmPeopleView.as_view(), name="rfm-people"),
    path("rfm/recompute/", rfm_api.RfmRecomputeView.as_view(), name="rfm-recompute"),
]
