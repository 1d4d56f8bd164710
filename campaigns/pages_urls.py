"""Campaign pages (namespace ``campaigns``; the list itself is in campaigns/urls.py)."""

from django.urls import path

from . import protection_views, views

urlpatterns = [
    path("new/", views.new, name="new"),
    path("gallery/", views.gallery_view, name="gallery"),
    path("protection/", protection_views.protection_page, name="protection"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/flow/", views.flow, name="flow"),
    path("<int:pk>/start/", views.change_status, {"action": "start"}, name="start"),
    path("<int:pk>/pause/", views.change_status, {"action": "pause"}, name="pause"),
    path("<int:pk>/resume/", views.change_status, {"action": "resume"}, name="resume"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("profile/<int:profile_id>/panel/", views.profile_panel, name="profile-panel"),
]
