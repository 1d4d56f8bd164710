"""REST API of segments; mounted at /api/v1/segments/ by cdp_site/urls.py."""

from django.urls import path

from . import views

app_name = "segments-api"
urlpatterns = [
    path("", views.SegmentListView.as_view(), name="list"),
    path("count/", views.CountView.as_view(), name="count"),
    path("preview/", views.PreviewView.as_view(), name="preview"),
    path("static/", views.CreateStaticView.as_view(), name="create-static"),
    path("<int:pk>/", views.SegmentDetailView.as_view(), name="detail"),
    path("<int:pk>/members/", views.MemberListView.as_view(), name="members"),
    path("<int:pk>/history/", views.HistoryView.as_view(), name="history"),
    path("<int:pk>/export/", views.ExportView.as_view(), name="export"),
    path("<int:pk>/recompute/", views.RecomputeView.as_view(), name="recompute"),
    path("<int:pk>/upload/", views.UploadView.as_view(), name="upload"),
]
