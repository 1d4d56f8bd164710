from django.urls import path

from . import views
from .journey import views as journey_views
from .paths import views as paths_views
from .retention import views as retention_views

app_name = "insights"

urlpatterns = [
    path("", views.index, name="index"),
    path("journey/", journey_views.journey, name="journey"),
    path("journey/people/", journey_views.journey_people, name="journey-people"),
    path("retention/", retention_views.retention_grid, name="retention"),
    path("paths/", paths_views.paths_view, name="paths"),
]
