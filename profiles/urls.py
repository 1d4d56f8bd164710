from django.urls import include, path

from . import views

app_name = "profiles"
urlpatterns = [
    path("", views.index, name="index"),
    # Identity rules, computed traits, stage rules: profiles/rules_urls.py.
    path("rules/", include("profiles.rules_urls")),
]
