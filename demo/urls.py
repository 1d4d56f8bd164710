"""The demo's own pages (cdp_site/urls.py mounts them at /demo/): the mailbox and the
example shop page. Each answers 404 outside demo mode (demo.views.demo_only)."""

from django.urls import path

from . import personalize_page, views

app_name = "demo"

urlpatterns = [
    path("mailbox/", views.mailbox_index, name="mailbox"),
    path("mailbox/<str:message_id>/", views.mailbox_message, name="mailbox-message"),
    path("shop/", personalize_page.shop_page, name="shop"),
]
