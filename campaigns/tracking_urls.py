from django.urls import path

from . import tracking_views

app_name = "tracking"
urlpatterns = [
    path("o/<str:token>.gif", tracking_views.open_pixel, name="open"),
    path("c/<str:token>", tracking_views.click, name="click"),
    path("u/<str:token>", tracking_views.unsubscribe, name="unsubscribe"),
]
