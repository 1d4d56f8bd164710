from django.urls import path  # noqa: F401

app_name = "profile-rules"
urlpatterns: list = []
