import base64
import gzip
import json

import pytest

from integrations import services
from integrations.models import Source
from tests.support.ad_platforms import google_api, meta_api  # noqa: F401 (audience fixtures)


@pytest.fixture
def source(db):
    return services.create_source(name="Shop website", kind=Source.Kind.WEBSITE)


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.fixture
def post(client):
    """POSTs to the collection API: JSON (or raw bytes), optional Basic key and gzip."""

    def send(path, body, *, key=None, gzipped=False, headers=None, raw=False):
        data = body if raw else json.dumps(body).encode()
        extra = dict(headers or {})
        if key:
            extra["HTTP_AUTHORIZATION"] = basic(key)
        if gzipped:
            data = gzip.compress(data)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        return client.generic("POST", path, data, content_type="application/json", **extra)

    return send
