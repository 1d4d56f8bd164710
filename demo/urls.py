from django.urls import path

from . import views

app_name = "demo"

urlpatterns = [
    path("mailbox/", views.mailbox_index, name="mailbox"),
    path("mailbox/<str:message_id>/", views.mailbox_message, name="mailbox-message"),
]
