from django.urls import path

from insights.dashboard import api as dashboard_api
from insights.rfm import api as rfm_api

from . import attribution, funnels, lifecycle, views

app_name = "insights-api"

urlpatterns = [
    path("journey/", views.JourneyView.as_view(), name="journey"),
    path("journey/people/", views.JourneyPeopleView.as_view(), name="journey-people"),
    path("retention/", views.RetentionView.as_view(), name="retention"),
    path("paths/", views.PathsView.as_view(), name="paths"),
    path("lifecycle/", lifecycle.LifecycleView.as_view(), name="lifecycle"),
    path("lifecycle/people/", lifecycle.LifecyclePeopleView.as_view(), name="lifecycle-people"),
    path("funnel/", funnels.FunnelView.as_view(), name="funnel"),
    path("funnels/", funnels.SavedFunnelsView.as_view(), name="funnels"),
    path("funnels/<int:pk>/", funnels.SavedFunnelView.as_view(), name="saved-funnel"),
    path("funnels/<int:pk>/result/", funnels.SavedFunnelResultView.as_view(), name="funnel-result"),
    path("dashboard/", dashboard_api.DashboardView.as_view(), name="dashboard"),
    path("attribution/", attribution.AttributionView.as_view(), name="attribution"),
    path(
        "attribution/people/",
        attribution.AttributionPeopleView.as_view(),
        name="attribution-people",
    ),
    path("rfm/", rfm_api.RfmView.as_view(), name="rfm"),
    path("rfm/people/", rfm_api.RfmPeopleView.as_view(), name="rfm-people"),
    path("rfm/recompute/", rfm_api.RfmRecomputeView.as_view(), name="rfm-recompute"),
]
