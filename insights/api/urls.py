from django.urls import path

from . import funnels, views

app_name = "insights-api"

urlpatterns = [
    path("journey/", views.JourneyView.as_view(), name="journey"),
    path("journey/people/", views.JourneyPeopleView.as_view(), name="journey-people"),
    path("retention/", views.RetentionView.as_view(), name="retention"),
    path("paths/", views.PathsView.as_view(), name="paths"),
    path("funnel/", funnels.FunnelView.as_view(), name="funnel"),
    path("funnels/", funnels.SavedFunnelsView.as_view(), name="funnels"),
    path("funnels/<int:pk>/", funnels.SavedFunnelView.as_view(), name="saved-funnel"),
    path("funnels/<int:pk>/result/", funnels.SavedFunnelResultView.as_view(), name="funnel-result"),
]
