from django.urls import path

from insights.dashboard import api as dashboard_api

from . import lifecycle, views

app_name = "insights-api"

urlpatterns = [
    path("journey/", views.JourneyView.as_view(), name="journey"),
    path("journey/people/", views.JourneyPeopleView.as_view(), name="journey-people"),
    path("retention/", views.RetentionView.as_view(), name="retention"),
    path("paths/", views.PathsView.as_view(), name="paths"),
    path("lifecycle/", lifecycle.LifecycleView.as_view(), name="lifecycle"),
    path("funnel/", views.FunnelView.as_view(), name="funnel"),
    path("dashboard/", dashboard_api.DashboardView.as_view(), name="dashboard"),
]
