"""The WSGI entry point: /v1/ takes the slim handler, everything else the full stack."""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from cdp_site.wsgi import application
from integrations.models import Source

pytestmark = pytest.mark.django_db(transaction=True)


def _call(path: str, *, method="GET", body=b"", headers=None):
    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "HTTP_HOST": "localhost",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **(headers or {}),
    }
    setup_testing_defaults(environ)
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(response_headers)

    content = b"".join(application(environ, start_response))
    return seen["status"], seen["headers"], content


def test_tracking_api_through_the_slim_handler_stores_the_event():
    source = Source.objects.create(name="web", kind="website")
    body = json.dumps({"writeKey": source.write_key, "userId": "u1", "event": "Signed Up"})

    status, headers, content = _call("/v1/track", method="POST", body=body.encode())

    assert status.startswith("200")
    assert json.loads(content) == {"success": True}
    assert headers["Content-Length"] == str(len(content))  # keep-alive clients need it
    assert "Set-Cookie" not in headers  # no session or CSRF machinery on this path
    assert "Content-Security-Policy" not in headers
    assert headers["X-Content-Type-Options"] == "nosniff"  # security middleware still runs


def test_pages_keep_the_full_middleware_stack():
    status, headers, _ = _call("/accounts/login/")
    assert status.startswith("200")
    assert "Content-Security-Policy" in headers
    assert "csrftoken" in headers.get("Set-Cookie", "")


def test_bad_tracking_request_gets_the_json_error_not_a_traceback():
    status, _, content = _call("/v1/track", method="POST", body=b"{not json")
    assert status.startswith("400")
    assert "Traceback" not in content.decode()
    assert "message" in json.loads(content)
