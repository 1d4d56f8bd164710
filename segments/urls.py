from django.urls import include, path

from . import views

app_name = "segments"
urlpatterns = [
    path("", views.index, name="index"),
    # The builder (new and edit) lives in builder_urls, a segment's pages in detail_urls.
    path("", include("segments.builder_urls")),
    path("", include("segments.detail_urls")),
]
