"""The campaigns app's pages and public endpoints; cdp_site/urls.py mounts them at the root.

Pages at /campaigns/ (namespace "campaigns"): the campaigns and their journeys, the
gallery, the protection rules, message templates and results. Tracking links at /t/
(namespace "tracking"): opens, clicks and unsubscribes, public (signed tokens); the
channels' callbacks (SMS status and inbound, e-mail delivery events), public (signed by
the provider).
"""

from django.urls import include, path

from . import channel_views, protection_views, tracking_views, views
from .audiences import views as audiences
from .messages import views as messages
from .personalization import views as personalization
from .recommendations import views as recommendations

page_patterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("gallery/", views.gallery_view, name="gallery"),
    path("protection/", protection_views.protection_page, name="protection"),
    path("audiences/", audiences.sync_list, name="audience-list"),
    path("audiences/new/", audiences.sync_new, name="audience-new"),
    path("audiences/<int:pk>/", audiences.sync_detail, name="audience-detail"),
    path("audiences/<int:pk>/resync/", audiences.sync_resync, name="audience-resync"),
    path("personalization/", personalization.index, name="personalization"),
    path(
        "personalization/<int:source_id>/",
        personalization.detail,
        name="personalization-detail",
    ),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/flow/", views.flow, name="flow"),
    path("<int:pk>/start/", views.change_status, {"action": "start"}, name="start"),
    path("<int:pk>/pause/", views.change_status, {"action": "pause"}, name="pause"),
    path("<int:pk>/resume/", views.change_status, {"action": "resume"}, name="resume"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("profile/<int:profile_id>/panel/", views.profile_panel, name="profile-panel"),
    path(
        "profile/<int:profile_id>/recommendations/",
        recommendations.profile_panel,
        name="recommendations-panel",
    ),
    path("catalogue/", recommendations.catalogue, name="catalogue"),
    path("messages/", messages.message_list, name="messages"),
    path("messages/new/", messages.message_new, name="message-new"),
    path("messages/<int:pk>/", messages.message_edit, name="message-edit"),
    path("messages/<int:pk>/preview/", messages.message_preview, name="message-preview"),
    path("messages/<int:pk>/test/", messages.message_test_send, name="message-test"),
    path("messages/<int:pk>/delete/", messages.message_delete, name="message-delete"),
    path("<int:campaign_id>/results/", views.campaign_results, name="results"),
    path("<int:campaign_id>/results/panel/", views.campaign_results_panel, name="results-panel"),
]

tracking_patterns = [
    path("o/<str:token>.gif", tracking_views.open_pixel, name="open"),
    path("c/<str:token>", tracking_views.click, name="click"),
    path("u/<str:token>", tracking_views.unsubscribe, name="unsubscribe"),
    path("sms/status/<int:delivery_id>/", channel_views.sms_status, name="sms-status"),
    path("sms/inbound/<int:destination_id>/", channel_views.sms_inbound, name="sms-inbound"),
    path("email/events/<int:destination_id>/", channel_views.email_events, name="email-events"),
]

urlpatterns = [
    path("campaigns/", include((page_patterns, "campaigns"))),
    path("t/", include((tracking_patterns, "tracking"))),
]
