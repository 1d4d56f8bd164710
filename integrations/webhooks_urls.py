"""Mounted at /hooks/ by cdp_site/urls.py: public inbound webhook receivers."""

from django.urls import path

from .webhooks import views

urlpatterns = [path("<str:token>", views.receive, name="webhook-receive")]
