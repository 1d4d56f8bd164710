"""403/404/500 pages in the product's look; API paths answer the JSON error shape."""

import pytest
from django.test import Client
from django.urls import path

from cdp_site import urls as site_urls


def _boom(request):
    raise RuntimeError("secret internal detail")


urlpatterns = [*site_urls.urlpatterns, path("boom/", _boom), path("api/boom/", _boom)]
handler403, handler404, handler500 = (
    site_urls.handler403,
    site_urls.handler404,
    site_urls.handler500,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def test_404_page_uses_the_product_look(client_as):
    response = client_as("Viewer").get("/nowhere/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html
    assert "/static/css/app.css" in html


def test_403_page_explains_the_role_limit(client_as):
    response = client_as("Viewer").get("/settings/users/")
    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()


def test_500_page_hides_the_error_from_the_user():
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "secret internal detail" not in html and "Traceback" not in html


def test_500_under_api_is_json_in_the_error_shape():
    response = Client(raise_request_exception=False).get("/api/boom/")
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "server_error",
            "message": "Something went wrong on our side.",
            "fields": {},
        }
    }


def test_every_page_carries_a_content_security_policy(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert script_src.startswith("script-src 'self'")
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    assert "object-src 'none'" in policy
