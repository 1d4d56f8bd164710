"""The home page, included at "/" by cdp_site.urls under the name "dashboard" (no
namespace: every page's {% url 'dashboard' %} keeps working)."""

from django.urls import path

from . import views

urlpatterns = [path("", views.dashboard, name="dashboard")]
