from django.urls import include, path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("", views.index, name="index"),
    # Campaign and journey pages (campaigns/pages_urls.py); tracking links (opens, clicks,
    # unsubscribe) are public and live in campaigns/tracking_urls.py.
    path("", include("campaigns.pages_urls")),
    path("", include("campaigns.message_urls")),  # message templates, results
]
