from django.urls import path

from . import views

app_name = "segments"
urlpatterns = [
    path("", views.index, name="index"),
]
