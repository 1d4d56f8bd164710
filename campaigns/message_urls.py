"""Message templates and campaign results; included by campaigns/urls.py at the root of
/campaigns/ (names in the "campaigns" namespace)."""

from django.urls import path

from . import message_views as views

urlpatterns = [
    path("messages/", views.message_list, name="messages"),
    path("messages/new/", views.message_new, name="message-new"),
    path("messages/<int:pk>/", views.message_edit, name="message-edit"),
    path("messages/<int:pk>/preview/", views.message_preview, name="message-preview"),
    path("messages/<int:pk>/test/", views.message_test_send, name="message-test"),
    path("messages/<int:pk>/delete/", views.message_delete, name="message-delete"),
    path("<int:campaign_id>/results/", views.campaign_results, name="results"),
    path("<int:campaign_id>/results/panel/", views.campaign_results_panel, name="results-panel"),
]
