"""Destinations' pages, mounted under /integrations/destinations/ (namespace integrations)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.destination_list, name="destination-list"),
    path("new/", views.destination_create, name="destination-create"),
    path("dead-letters/", views.dead_letter_list, name="dead-letter-list"),
    path("dead-letters/<int:pk>/replay/", views.dead_letter_replay, name="dead-letter-replay"),
    path("<int:pk>/", views.destination_detail, name="destination-detail"),
    path("<int:pk>/edit/", views.destination_edit, name="destination-edit"),
    path("<int:pk>/delete/", views.destination_delete, name="destination-delete"),
    path("<int:pk>/test/", views.destination_test, name="destination-test"),
]
