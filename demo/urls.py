"""The demo's own pages, mounted by cdp_site/urls.py in demo mode only."""

from django.urls import path

from . import personalize_page

urlpatterns = [
    path("demo/shop/", personalize_page.shop_page, name="demo-shop"),
]
