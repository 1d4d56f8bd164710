from django.urls import path

from . import views

app_name = "insights-api"

urlpatterns = [
    path("journey/", views.JourneyView.as_view(), name="journey"),
]
