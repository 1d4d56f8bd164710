"""What token authentication, roles and the error-shaped API add to a request.

Figure: requests/s of GET /api/v1/me with an API token, through Django's full
WSGI handler and middleware. Baseline: a bare Django view answering the same
JSON with no authentication, through the same handler, in the same run.
"""

from django.http import JsonResponse
from django.test import Client
from django.urls import clear_url_caches, path

from bench.common import Row, timed_runs
from cdp_site import services, urls

REQUESTS = 2000


def run() -> list[Row]:
    def bare(request):
        return JsonResponse({"id": 1, "email": "bench@example.org"})

    urls.urlpatterns.append(path("bench-bare", bare))
    clear_url_caches()

    user = services.create_user(email="bench-api@example.org", role="Marketer").user
    token = services.create_api_token(user=user, name="bench").plaintext
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="localhost")

    def many(url):
        def go():
            for _ in range(REQUESTS):
                response = client.get(url)
                assert response.status_code == 200, (response.status_code, response.content[:300])

        return go

    api_time = min(timed_runs(many("/api/v1/me"), repeat=3))
    bare_time = min(timed_runs(many("/bench-bare"), repeat=3))
    return [
        Row(
            figure="API GET /api/v1/me with token (requests/s, 1 thread)",
            value=REQUESTS / api_time,
            unit="req/s",
            baseline="bare Django JSON view, same handler",
            baseline_value=REQUESTS / bare_time,
        ),
    ]
