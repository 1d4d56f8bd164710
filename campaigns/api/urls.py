"""REST API of campaigns and message templates; mounted at /api/v1/campaigns/ by
cdp_site/urls.py."""

from django.urls import path

from ..audiences import api as audiences
from . import personalization, recommendations, views

app_name = "campaigns-api"
urlpatterns = [
    path("", views.CampaignListView.as_view(), name="list"),
    path("templates/", views.TemplateListView.as_view(), name="templates"),
    path("protection/", views.ProtectionView.as_view(), name="protection"),
    path("audiences/", audiences.AudienceSyncListView.as_view(), name="audiences"),
    path("audiences/<int:pk>/", audiences.AudienceSyncDetailView.as_view(), name="audience"),
    path(
        "audiences/<int:pk>/resync/",
        audiences.AudienceSyncResyncView.as_view(),
        name="audience-resync",
    ),
    path(
        "personalization/",
        personalization.PersonalizationListView.as_view(),
        name="personalization",
    ),
    path(
        "personalization/<int:source_id>/",
        personalization.PersonalizationDetailView.as_view(),
        name="personalization-detail",
    ),
    path("templates/<int:pk>/", views.TemplateDetailView.as_view(), name="template"),
    path("products/", recommendations.ProductListView.as_view(), name="products"),
    path("products/<int:pk>/", recommendations.ProductDetailView.as_view(), name="product"),
    path(
        "recommendations/<int:profile_id>/",
        recommendations.RecommendationsView.as_view(),
        name="recommendations",
    ),
    path("<int:pk>/", views.CampaignDetailView.as_view(), name="detail"),
    path("<int:pk>/start/", views.StartView.as_view(), name="start"),
    path("<int:pk>/pause/", views.PauseView.as_view(), name="pause"),
    path("<int:pk>/resume/", views.ResumeView.as_view(), name="resume"),
    path("<int:pk>/finish/", views.FinishView.as_view(), name="finish"),
    path("<int:pk>/enrollments/", views.EnrollmentListView.as_view(), name="enrollments"),
    path("<int:pk>/deliveries/", views.DeliveryListView.as_view(), name="deliveries"),
    path("<int:pk>/results/", views.ResultsView.as_view(), name="results"),
    path("<int:pk>/counts/", views.CountsView.as_view(), name="counts"),
]
