from django.urls import path

from . import views

urlpatterns = [
    path("new/", views.new, name="new"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("builder/estimate/", views.estimate, name="estimate"),
    path("builder/properties/", views.properties, name="properties"),
]
